"""/healthz and /metrics over real HTTP on 127.0.0.1: what an unauthenticated caller may learn, and that the
command counters move when people use the bot."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import Settings
from bot.metrics import Metrics
from bot.ops_server import build_ops_app
from storage.database import Database
from tests.chat_fixtures import TODAY, ingest_samples, make_bot


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[Callable[[str], str]]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield lambda path: f"http://127.0.0.1:{server.port}{path}"
    finally:
        await server.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get_all(db: Database, *paths: str) -> list[httpx.Response]:
    """One answer per path, in order, from an ops server on `db` (a path twice: asked twice)."""
    async with serving(build_ops_app(db, Metrics(), lambda: True, lambda: TODAY)) as at:
        async with httpx.AsyncClient() as client:
            return [await client.get(at(path)) for path in paths]


async def test_healthz_with_the_database_down_says_unreachable_and_nothing_more(caplog):
    url = f"postgresql://paperboy_admin:hunter2-secret@127.0.0.1:{closed_port()}/payroll_db"
    db = Database(url)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.ops_server"):
            first, second = await get_all(db, "/healthz", "/healthz")
    finally:
        await db.dispose()
    assert first.status_code == 503
    assert first.json() == {"status": "unhealthy", "database": "unreachable", "scheduler": "ok"}
    for detail in ("paperboy_admin", "hunter2", "payroll_db", "asyncpg", "postgresql", "127.0.0.1", "refused"):
        assert detail not in first.text
    assert second.json() == first.json()
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.ops_server"]
    assert len(logged) == 1, logged  # the operator learns why once, not on every probe
    assert "payroll_db" in logged[0] and "hunter2" not in logged[0]


async def test_metrics_with_the_database_down_says_so_without_any_detail(caplog, tmp_path):
    """A scrape with the database away looked healthy (the error was swallowed, the LLM gauges just kept their
    last values): now `paperboy_database_up` says 0, and the operator's log says why once, with no password."""
    url = f"postgresql://paperboy_admin:hunter2-secret@127.0.0.1:{closed_port()}/payroll_db"
    broken = Database(f"sqlite:///{tmp_path}/never-migrated.db")  # reachable, but nothing Paperboy can read
    db = Database(url)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.ops_server"):
            first, second = await get_all(db, "/metrics", "/metrics")
            unreadable, health = await get_all(broken, "/metrics", "/healthz")
    finally:
        await db.dispose()
        await broken.dispose()
    assert first.status_code == 200  # the scrape itself works: the other series stay visible
    assert _value(first.text, "paperboy_database_up") == 0.0 and _value(second.text, "paperboy_database_up") == 0.0
    assert unreadable.status_code == 200 and _value(unreadable.text, "paperboy_database_up") == 0.0
    assert health.status_code == 503 and health.json()["database"] == "unreachable"  # not a 500
    for detail in ("paperboy_admin", "hunter2", "payroll_db", "asyncpg", "Traceback", "refused", "never-migrated"):
        assert detail not in first.text and detail not in unreadable.text
    logged = [r for r in caplog.records if r.name == "bot.ops_server"]
    assert len(logged) == 3, [r.getMessage() for r in logged]  # once per problem and endpoint, not per scrape
    assert "payroll_db" in logged[0].getMessage() and all(r.exc_info is None for r in logged)
    assert not any("hunter2" in r.getMessage() for r in logged)


async def test_metrics_on_a_live_database_says_it_is_up(db):
    (scraped,) = await get_all(db, "/metrics")
    assert scraped.status_code == 200 and _value(scraped.text, "paperboy_database_up") == 1.0


def _value(text: str, metric: str) -> float | None:
    """The value of an unlabelled series in a Prometheus exposition."""
    for line in text.splitlines():
        if line.startswith(f"{metric} "):
            return float(line.split()[1])
    return None


async def test_healthz_ok_on_a_live_database(db):
    async with serving(build_ops_app(db, Metrics(), lambda: False, lambda: TODAY)) as at:
        async with httpx.AsyncClient() as client:
            health = await client.get(at("/healthz"))
    assert health.status_code == 503  # the scheduler stopped
    assert health.json() == {"status": "unhealthy", "database": "ok", "scheduler": "stopped"}


async def test_healthz_counts_failing_channels_without_failing_itself(db):
    """A channel the bot was removed from shows as a count on /healthz (digest status names it); the probe
    stays 200, so an orchestrator never restarts a bot that serves every other channel."""
    from datetime import UTC, date, datetime

    from storage import delivery_store

    now = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)
    for key in ("slack:T1:C1", "slack:T1:C2"):
        claim = await delivery_store.claim(db, key, date(2026, 4, 20), "proc-1", now, 300)
        assert claim is not None
        if key.endswith("C1"):
            await delivery_store.fail(db, claim, "not_in_channel", now)
        else:
            await delivery_store.complete(db, claim, "1700000000.000001", [], now)
    async with serving(build_ops_app(db, Metrics(), lambda: True, lambda: TODAY)) as at:
        async with httpx.AsyncClient() as client:
            health = await client.get(at("/healthz"))
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "scheduler": "ok", "failing_destinations": 1}
    assert "not_in_channel" not in health.text and "C1" not in health.text  # the count only; details are the log's


class _HangingPoster:
    """A platform call that never returns: the digest tick that makes it hangs."""

    def __init__(self) -> None:
        self.called = asyncio.Event()

    async def post_digest(self, destination, message, *, tag=None):
        self.called.set()
        await asyncio.Event().wait()

    async def find_digest(self, destination, tag):
        return None


async def test_healthz_says_starting_before_the_scheduler_runs_and_stuck_when_a_tick_hangs(db):
    """While `paperboy run` warms up, /healthz said "scheduler": "stopped" (an operator went looking for a
    crash); and a digest tick hung on a platform call for hours still read "scheduler": "ok"."""
    from datetime import timedelta

    from bot.digests.digest_runner import DigestRunner, DigestSettings
    from bot.scheduling import BotScheduler
    from tests.chat_fixtures import NOW

    await ingest_samples(db)
    bot = make_bot(db, channel="ops")
    await bot.console.say("/papers digest 09:59 UTC mon-sun")  # due at NOW (10:00)
    poster = _HangingPoster()
    runner = DigestRunner(bot.core.services, {"console": poster}, owner="proc-1",
                          settings=DigestSettings(lease_seconds=600))
    clock = {"now": NOW}
    scheduler = BotScheduler(runner, lambda: clock["now"], tick=timedelta(minutes=1))
    metrics = Metrics()
    async with serving(build_ops_app(db, metrics, scheduler.state, lambda: TODAY)) as at:
        async with httpx.AsyncClient() as client:
            starting = await client.get(at("/healthz"))
            scheduler.start()
            try:
                async with asyncio.timeout(60):
                    await poster.called.wait()  # the first tick is in its platform call
                ticking = await client.get(at("/healthz"))
                clock["now"] = NOW + timedelta(minutes=9)
                slow = await client.get(at("/healthz"))
                clock["now"] = NOW + timedelta(minutes=30)
                stuck = await client.get(at("/healthz"))
                scraped = (await client.get(at("/metrics"))).text
            finally:
                scheduler.shutdown(wait=False)
            async with asyncio.timeout(60):
                while scheduler.alive:  # noqa: ASYNC110 (it stops on one of the loop's next turns)
                    await asyncio.sleep(0.01)
            stopped = await client.get(at("/healthz"))
    assert starting.status_code == 503 and starting.json()["scheduler"] == "starting"
    assert ticking.status_code == 200 and ticking.json()["scheduler"] == "ok"
    assert slow.status_code == 200  # a slow tick within its lease is still working
    assert stuck.status_code == 503 and stuck.json()["scheduler"] == "stuck"
    assert _value(scraped, "paperboy_scheduler_alive") == 0.0
    assert stopped.status_code == 503 and stopped.json()["scheduler"] == "stopped"


def test_the_ops_port_listens_on_loopback_unless_told_otherwise(monkeypatch):
    for name in ("PAPERBOY_HTTP_HOST", "PAPERBOY_HTTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert Settings(_env_file=None).http_host == "127.0.0.1"  # type: ignore[call-arg]


def _samples(text: str, metric: str) -> dict[str, float]:
    """`metric{labels} value` lines of a Prometheus exposition, by their label text."""
    found = {}
    for line in text.splitlines():
        if m := re.match(rf"^{metric}\{{(?P<labels>[^}}]*)\}} (?P<value>\S+)$", line):
            found[m.group("labels")] = float(m.group("value"))
    return found


async def test_command_counters_move_and_never_carry_user_text(db):
    await ingest_samples(db)
    metrics = Metrics()
    bot = make_bot(db)
    bot.core.on_command = metrics.command_handled
    await bot.console.say("/papers today")
    await bot.console.say("/papers today")
    await bot.console.say("/papers search secret-project-zebra")
    await bot.console.say("/papers digest 99:99")
    await bot.console.say("/frobnicate secret-project-zebra")
    await bot.console.say("summarize 2", thread=1)
    await bot.console.say("nice paper everyone", thread=1)
    await bot.core.handle_command(bot.console.context(), "subscribe", "graph neural networks")
    async with serving(build_ops_app(db, metrics, lambda: True, lambda: TODAY)) as at:
        async with httpx.AsyncClient() as client:
            exposed = (await client.get(at("/metrics"))).text
    assert "secret-project-zebra" not in exposed and "frobnicate" not in exposed and "nice paper" not in exposed
    assert _samples(exposed, "paperboy_commands_total") == {
        'command="papers today",outcome="ok"': 2.0,
        'command="papers search",outcome="ok"': 1.0,
        'command="papers digest",outcome="refused"': 1.0,
        'command="invalid",outcome="refused"': 1.0,
        'command="thread reply",outcome="ok"': 1.0,
        'command="thread reply",outcome="ignored"': 1.0,
        'command="subscribe",outcome="ok"': 1.0,
    }
    counts = _samples(exposed, "paperboy_command_seconds_count")
    assert counts['command="papers today"'] == 2.0 and counts['command="subscribe"'] == 1.0
    assert _samples(exposed, "paperboy_command_seconds_sum")['command="papers today"'] > 0


class _WordyConnector:
    """A connector whose health() says too much: what /healthz publishes must still be one short word."""

    platform = "slack"
    poster = None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> str | None:
        return "invalid_auth: xoxb-123-secret rejected by https://slack.internal.example:8443"


async def test_healthz_names_each_platform_with_a_short_state(db, monkeypatch):
    """A real Discord connection (discord.py against the fake REST API and gateway) is reported by name; when the
    gateway goes away /healthz says which platform is down, and comes back to 200 after discord.py resumes."""
    import discord
    import yarl
    from pydantic import SecretStr

    from adapters.discord.discord_adapter import DiscordConnector, DiscordOptions
    from tests.fakes import fake_discord as fd

    with fd.FakeDiscord() as rest, fd.FakeGateway() as gateway:
        monkeypatch.setattr(discord.http.Route, "BASE", rest.url + fd.API)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(gateway.url))
        discord_connector = DiscordConnector(make_bot(db).core, DiscordOptions(token=SecretStr("fake-token")))
        await discord_connector.start()
        try:
            async with serving(build_ops_app(db, Metrics(), lambda: True, lambda: TODAY,
                                             connectors=[discord_connector])) as at:
                async with httpx.AsyncClient() as client:
                    up = await client.get(at("/healthz"))
                    gateway.drop(refuse=True)
                    async with asyncio.timeout(60):
                        while (down := await client.get(at("/healthz"))).status_code == 200:  # noqa: ASYNC110
                            await asyncio.sleep(0.05)
                    gateway.restore()
                    async with asyncio.timeout(60):
                        while (back := await client.get(at("/healthz"))).status_code != 200:  # noqa: ASYNC110
                            await asyncio.sleep(0.05)
            async with serving(build_ops_app(db, Metrics(), lambda: True, lambda: TODAY,
                                             connectors=[discord_connector, _WordyConnector()])) as at:
                async with httpx.AsyncClient() as client:
                    wordy = await client.get(at("/healthz"))
        finally:
            await discord_connector.stop()
    assert up.status_code == 200 and up.json() == {"status": "ok", "database": "ok", "scheduler": "ok",
                                                   "discord": "ok"}
    assert down.status_code == 503 and down.json()["discord"] == "reconnecting" and down.json()["scheduler"] == "ok"
    assert back.json()["discord"] == "ok"
    assert wordy.status_code == 503 and wordy.json() == {"status": "unhealthy", "database": "ok", "scheduler": "ok",
                                                         "discord": "ok", "slack": "invalid_auth"}
