"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL is the one at $PAPERBOY_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test). Each
test gets its own schema, so tests never see each other's rows. When CI=true an unreachable PostgreSQL fails
the run instead of skipping, so a green CI always means both databases passed.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import discord
import pytest

from adapters.discord.discord_adapter import DiscordOptions, make_client
from storage.database import Database
from tests.fakes import fake_discord as fd
from tests.fakes.fake_discord import FakeDiscord

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = Path(__file__).parent.parent / "bot" / "samples"  # the pages `paperboy demo` ships; one copy
# The whole run takes about 12 minutes; one that is still going after 40 has hung somewhere no test's timeout
# sees (xdist's controller waiting on a worker): print where every thread of the controller is and stop.
RUN_DEADLINE_SECONDS = 2400
POSTGRES_URL = os.environ.get("PAPERBOY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller (or a run without workers); workers have timeouts
        faulthandler.dump_traceback_later(RUN_DEADLINE_SECONDS, exit=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        faulthandler.cancel_dump_traceback_later()


def postgres_unavailable() -> str | None:
    """None when PostgreSQL answers, else why not (checked once per run)."""
    if "reason" not in _pg_state:
        async def probe() -> None:
            db = Database(POSTGRES_URL)
            try:
                await db.ping()
            finally:
                await db.dispose()

        try:
            asyncio.run(probe())
            _pg_state["reason"] = None
        except Exception as exc:
            _pg_state["reason"] = str(exc)
    return _pg_state["reason"]


def require_backend(backend: str) -> None:
    if backend != "postgresql":
        return
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI but unreachable: {reason}")
    pytest.skip(f"PostgreSQL unreachable: {reason}")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    require_backend(request.param)
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated, empty SQLite file per worker, copied for every SQLite test: migrating a new file for each
    test cost most of a second apiece (hundreds of tests) on a slow CI machine. Tests of the migrations
    themselves start from a copy too (`test_schema_upgrade` goes down one step and up again)."""
    path = tmp_path_factory.mktemp("template") / "paperboy.db"

    async def migrate() -> None:
        database = Database(f"sqlite:///{path}")
        try:
            await database.upgrade()
        finally:
            await database.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture
def db_env(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Environment variables that point a `paperboy` process at a fresh, empty database (already migrated: the
    process finds it at the head, as a running bot's database is)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "paperboy.db"
        for suffix in ("", "-wal", "-shm"):  # a checkpointed template has only the main file
            if (source := template.with_name(template.name + suffix)).exists():
                shutil.copyfile(source, target.with_name(target.name + suffix))
        yield {"PAPERBOY_DATABASE_URL": f"sqlite:///{target}"}
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield {"PAPERBOY_DATABASE_URL": POSTGRES_URL, "PAPERBOY_DATABASE_SCHEMA": schema}
    asyncio.run(_drop_schema(schema))


async def _drop_schema(schema: str) -> None:
    """Drop a test's schema. A connection the test left open inside it (a lingering pool, a killed process's
    session) would make DROP SCHEMA wait on its locks forever and stall the whole run: such sessions belong
    to this test alone (the schema is its own), so they are ended first, and the drop gives up after a minute
    rather than hang."""
    from sqlalchemy import text

    db = Database(POSTGRES_URL)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM (SELECT DISTINCT l.pid FROM pg_locks l "
                "JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND l.pid <> pg_backend_pid()) AS holders"), {"schema": schema})
        async with db.engine.begin() as conn:
            await conn.execute(text("SET LOCAL lock_timeout = '60s'"))
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await db.dispose()


@pytest.fixture
async def db(db_env: dict[str, str]) -> AsyncIterator[Database]:
    """A migrated, empty database on the parametrised backend."""
    database = Database(db_env["PAPERBOY_DATABASE_URL"], schema=db_env.get("PAPERBOY_DATABASE_SCHEMA"))
    await database.upgrade()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """The fake Discord (REST and gateway) on an ephemeral port; discord.py's REST base points at it. Whatever a
    test checks, nothing the bot sent during it may have been able to ping anyone but the opted-in people its
    content names (`ping_problems`)."""
    with FakeDiscord() as fake:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.url + fd.API)
        yield fake
        assert not fake.ping_problems()


@pytest.fixture
async def client(api: FakeDiscord) -> AsyncIterator[discord.Client]:
    """A discord.py client logged in to the fake (REST only: /users/@me and the application)."""
    bot = make_client(DiscordOptions(post_interval=0))
    await bot.login("fake-token")
    try:
        yield bot
    finally:
        await bot.close()


@pytest.fixture
async def devset_db(db: Database) -> Database:
    """Every dev-set paper stored (tests/feedback_fixtures.py)."""
    from tests.feedback_fixtures import store_devset

    return await store_devset(db)
