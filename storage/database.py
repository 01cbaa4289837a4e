"""The one handle on the database: engine, sessions, and the schema upgrade that runs on every start."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.errors import StorageError
from storage.urls import redact, to_async_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Several bot processes may start at once against one PostgreSQL: only one of them runs migrations.
_MIGRATION_LOCK_KEY = 7_420_531_001
DISPOSE_DEADLINE = 10.0  # seconds `Database.dispose` waits for connections to close
log = logging.getLogger(__name__)


def _json_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (an LLM's JSON can carry one): escaped, as UTF-8 has none
        return json.dumps(value)
    return text


def dialect_name(session: AsyncSession) -> str:
    """"sqlite" or "postgresql": the few queries that differ by engine (upserts, full text) ask this."""
    return session.bind.dialect.name if session.bind is not None else session.get_bind().dialect.name


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """Owns the engine; handed to whoever needs the database, never a global."""

    def __init__(self, url: str, *, schema: str | None = None, echo: bool = False) -> None:
        self.url: URL = to_async_url(url)
        self.schema = schema
        self.dialect = self.url.get_backend_name()
        # JSON as written, not "\u00f6": the authors' JSON text is what full-text search indexes (SQLite FTS5,
        # PostgreSQL's tsvector), and an escaped "Sch\u00f6lkopf" could never be found.
        kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _json_text}
        if self.dialect == "sqlite":
            database = self.url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            if schema is not None and not _SCHEMA_RE.match(schema):
                raise StorageError(f"invalid schema name {schema!r}")
            settings = {"search_path": schema} if schema else {}
            kwargs["connect_args"] = {"server_settings": settings, "timeout": 10}
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._abandoned: asyncio.Future[None] | None = None  # a close `dispose` gave up waiting for

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def describe(self) -> str:
        return redact(self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: committed when the block ends, rolled back entirely if it raises."""
        async with self.sessions() as session, session.begin():
            yield session

    async def upgrade(self) -> None:
        """Bring the schema to the latest migration; safe to call on every start and from many processes."""
        try:
            async with self.engine.begin() as conn:
                await self._prepare(conn)
                if not await conn.run_sync(_at_head):
                    await conn.run_sync(_run_alembic_upgrade)
        except (TimeoutError, OperationalError, DBAPIError, OSError) as exc:
            raise StorageError(f"cannot open database {self.describe()}: {_first_line(exc)}") from exc

    async def _prepare(self, conn: AsyncConnection) -> None:
        if not self.is_postgres:
            return
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        if self.schema:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))

    async def ping(self) -> None:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (TimeoutError, OperationalError, DBAPIError, OSError) as exc:
            raise StorageError(f"cannot reach database {self.describe()}: {_first_line(exc)}") from exc

    async def dispose(self, deadline: float = DISPOSE_DEADLINE) -> None:
        """Close the pooled connections, for at most `deadline` seconds: the last step of every command and of
        `paperboy run`'s shutdown. A connection whose server went silent (closing waits for its answer) held the
        process without end, so a SIGTERM never finished; past the deadline the connections are dropped unclosed
        (the process is about to exit, and the server frees them when it notices) and the log says so."""
        closing = asyncio.ensure_future(self.engine.dispose())
        done, _ = await asyncio.wait({closing}, timeout=deadline)
        if done:
            closing.result()
            return
        # Cancelled and not awaited: a driver may finish its close only when the server answers (or never).
        closing.cancel()
        self._abandoned = closing
        log.warning("database connections did not close within %g s; leaving them to the process's exit", deadline)
        await self.engine.dispose(close=False)


# PostgreSQL's "try the transaction again" errors: deadlock_detected and serialization_failure. Two ingests that
# reach the same records by different ids and titles in opposite orders can deadlock; PostgreSQL cancels one.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def worth_retrying(exc: BaseException) -> bool:
    """Whether a failed transaction would likely succeed if run again as it was (PostgreSQL cancelled it to break
    a deadlock or a serialization conflict); the caller starts a new one."""
    original = getattr(exc, "orig", None)
    return getattr(original, "sqlstate", None) in _RETRY_SQLSTATES


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    message = str(original).strip().splitlines()
    return message[0][:200] if message else type(original).__name__


def head_revision() -> str:
    """The newest migration's revision: migrations are named and numbered "NNNN_what.py" with revision "NNNN"
    (tests/test_schema_upgrade.py checks this against Alembic's own view)."""
    return max(p.name[:4] for p in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _at_head(connection: Connection) -> bool:
    """Whether the schema is already at the newest migration: then every command's start skips Alembic (loading
    it and its migration scripts took a third of a second of each `paperboy` command)."""
    if not inspect(connection).has_table("alembic_version"):
        return False
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return list(versions) == [head_revision()]


def alembic_config() -> Config:
    # Alembic is imported when a schema is upgraded, not by every command that merely opens the database module.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _run_alembic_upgrade(connection: Connection) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")
