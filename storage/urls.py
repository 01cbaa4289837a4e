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
    if backend == "sqlite" and _in_memory(url):
        raise StorageError("an SQLite URL must name a file, e.g. sqlite:////var/lib/paperboy/paperboy.db: without one "
                           "(or with :memory:) the database lives in memory, and everything stored is lost when the "
                           "process stops")
    return url.set(drivername=f"{backend}+{driver}")


def _in_memory(url: URL) -> bool:
    """`sqlite://`, `sqlite:///`, `:memory:` and SQLite's `file:…?mode=memory` URIs: a database that no restart finds
    again (every command passed, and `config check` said "reachable")."""
    database = (url.database or "").strip()
    mode = url.query.get("mode")
    modes = [mode] if isinstance(mode, str) else list(mode or [])
    return (not database or database == ":memory:" or "memory" in modes
            or (database.startswith("file:") and ":memory:" in database))


def redact(url: URL | str) -> str:
    """A URL safe to print or log: the password never appears (masked the way every other URL is)."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return mask_url_credentials(parsed.render_as_string(hide_password=False))
