"""topics: subscriptions, and full-text search over papers (SQLite FTS5, PostgreSQL tsvector + GIN)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# `compounds` holds hyphenated words joined ("bilevel" for "Bi-Level"), filled at ingest, so the engines
# retrieve what the matcher accepts.
_SQLITE_FTS = [
    """CREATE VIRTUAL TABLE papers_fts USING fts5(
        title, abstract, compounds, authors, content='papers', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
        INSERT INTO papers_fts(rowid, title, abstract, compounds, authors)
        VALUES (new.id, new.title, new.abstract, new.compounds, new.authors);
    END""",
    """CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
        INSERT INTO papers_fts(papers_fts, rowid, title, abstract, compounds, authors)
        VALUES ('delete', old.id, old.title, old.abstract, old.compounds, old.authors);
    END""",
    """CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, compounds, authors ON papers BEGIN
        INSERT INTO papers_fts(papers_fts, rowid, title, abstract, compounds, authors)
        VALUES ('delete', old.id, old.title, old.abstract, old.compounds, old.authors);
        INSERT INTO papers_fts(rowid, title, abstract, compounds, authors)
        VALUES (new.id, new.title, new.abstract, new.compounds, new.authors);
    END""",
    "INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')",
]

_POSTGRES_FTS = [
    """ALTER TABLE papers ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(abstract, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(compounds, '')), 'B') ||
        setweight(to_tsvector('simple', coalesce(authors::text, '')), 'C')
    ) STORED""",
    "CREATE INDEX ix_papers_search_vector ON papers USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(400), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(128), nullable=True),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("topic_key", sa.String(400), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("scope", "topic_key", name="uq_subscriptions_scope_topic"),
    )
    op.create_index("ix_subscriptions_scope", "subscriptions", ["scope"])
    op.add_column("papers", sa.Column("compounds", sa.Text(), nullable=False, server_default=""))
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_FTS if dialect == "sqlite" else _POSTGRES_FTS if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("papers_fts_insert", "papers_fts_delete", "papers_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS papers_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_papers_search_vector")
        op.execute("ALTER TABLE papers DROP COLUMN IF EXISTS search_vector")
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("compounds")
    op.drop_table("subscriptions")
