"""Database URLs as people write them, turned into the async-driver URLs SQLAlchemy needs."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import StorageError
from bot.redaction import mask_url_credentials

_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
_ALIASES = {"postgres": "postgresql", "pg": "postgresql"}


def default_database_url() -> str:
    """Zero set-up: an SQLite file in the user's data directory."""
    path = Path(user_data_dir("paperboy", appauthor=False)) / "paperboy.db"
    return f"sqlite:///{path}"


def to_async_url(raw: str) -> URL:
    """Accept `sqlite:///file`, `postgresql://…` (and `postgres://`), with or without a driver."""
    raw = raw.strip()
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise StorageError(f"not a database URL: {raw[:80]!r} (try sqlite:///path or postgresql://…)") from exc
    backend = _ALIASES.get(url.get_backend_name(), url.get_backend_name())
    driver = _ASYNC_DRIVERS.get(backend)
    if driver is None:
        raise StorageError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
    return url.set(drivername=f"{backend}+{driver}")


def redact(url: URL | str) -> str:
    """A URL safe to print or log: the password never appears (masked the way every other URL is)."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return mask_url_credentials(parsed.render_as_string(hide_password=False))
