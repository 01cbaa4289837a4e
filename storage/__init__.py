"""Persistence: SQLAlchemy models, Alembic migrations and the queries the core needs."""
