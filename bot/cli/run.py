"""`paperboy run`: every configured connector, the scheduler and ingestion in one process, until SIGTERM.

Shutdown is graceful: new work stops, a digest run in progress finishes its posts (so a restart posts nothing
twice), then connectors and the database close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from bot.app import App, build_command_core, build_digest_runner, build_followup_runner
from bot.cli.common import fail, settings_from_cli
from bot.cli.common import run as run_app
from bot.cli.connectors import build_connectors
from bot.collector import settle_after_start
from bot.commands.command_core import CommandCore
from bot.connector import Connector
from bot.digests.digest_runner import Outcome
from bot.errors import PaperboyError, StartupError
from bot.ingestion.ingest_service import Source
from bot.ingestion.paper_checks import describe_skipped
from bot.logging_setup import configure_logging
from bot.metrics import Metrics
from bot.scheduling import BotScheduler

log = logging.getLogger("paperboy.run")



def register(cli: typer.Typer) -> None:
    @cli.command("run")
    def run_command(
        console: Annotated[bool, typer.Option("--console",
                                              help="Also serve a console channel (default: only when no platform "
                                                   "is configured).")] = False,
        no_console: Annotated[bool, typer.Option("--no-console", help="No console channel (the default).")]
        = False,
    ) -> None:
        """Run the bot: adapters, scheduled digests and the daily ingest, until stopped (SIGTERM or Ctrl-C)."""
        if console and no_console:  # one flag pair with a "/" settled it by the last one given
            raise fail("use either --console or --no-console, not both")
        remember_stop_requests()
        settings = settings_from_cli()
        configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())

        async def go(app: App) -> None:
            await serve(app, console=console)

        run_app(go)


class _StopRequested:
    """A SIGTERM that arrives while the process is still starting (migrations, connecting to Slack) is kept,
    not fatal: the default action would kill the process mid-way, with no clean shutdown and exit status -15."""

    flag = False


def _remember_stop(signum: int, _frame: object) -> None:
    if _StopRequested.flag:  # asked twice while still starting: the operator means now
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _StopRequested.flag = True


def remember_stop_requests() -> None:
    """First thing in `paperboy run`: from here on SIGTERM and Ctrl-C mean "stop cleanly", even before the
    event loop's handlers take over in `serve`."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _remember_stop)


async def serve(app: App, *, console: bool = False) -> None:
    settings = app.settings
    core = build_command_core(app)
    metrics = Metrics()
    core.on_command = metrics.command_handled
    stop = asyncio.Event()
    connectors = build_connectors(app, core, console=console, interactive=sys.stdin.isatty(),
                                  on_console_exit=stop.set)

    def on_outcome(outcome: Outcome) -> None:
        metrics.digests.labels(status=outcome.status).inc()

    runner = build_digest_runner(app, core, {c.platform: c.poster for c in connectors})
    runner.on_outcome = on_outcome

    async def ingest() -> int:
        counts = await app.ingestor.ingest(Source("hf", "today"))
        log.info("daily ingest: %d new, %d updated", counts.new, counts.updated)
        if counts.skipped:
            log.warning("daily ingest: %s", describe_skipped(counts.skipped))
        return counts.new

    followup_runner = build_followup_runner(app, {c.platform: c.poster for c in connectors})
    scheduler = BotScheduler(runner, app.clock, ingest=ingest, ingest_at=settings.ingest_time,
                             ingest_until_hour=settings.ingest_until_hour, timezone=settings.timezone,
                             tick=timedelta(seconds=settings.tick_seconds), followups=followup_runner.run)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if _StopRequested.flag:
        stop.set()

    if not await start_unless_stopped(connectors, settings.startup_timeout, stop):
        log.info("asked to stop while starting; stopped cleanly")
        return
    web_runner = None
    try:
        if settings.http_port:
            from aiohttp import web

            from bot.ops_server import build_ops_app

            web_runner = web.AppRunner(build_ops_app(app.db, metrics, scheduler.state, app.today,
                                                     connectors=connectors))
            await web_runner.setup()
            try:
                await web.TCPSite(web_runner, settings.http_host, settings.http_port).start()
            except (OSError, UnicodeError) as exc:  # the port taken, a host that does not resolve or is not ours
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
                raise StartupError(f"cannot listen on {settings.http_host[:80]}:{settings.http_port} "
                                   f"(PAPERBOY_HTTP_HOST, PAPERBOY_HTTP_PORT): {reason[:200]}") from None
            log.info("serving /healthz and /metrics on %s:%d", settings.http_host, settings.http_port)

        await _warm_models(core, app, stop)
        settle_after_start()
        scheduler.start()
        log.info("paperboy running: %s; digests checked every %ss", _describe(connectors, console or settings.console),
                 settings.tick_seconds)
        await stop.wait()
    finally:
        log.info("stopping: letting in-flight digests finish")
        await scheduler.drain()
        for connector in reversed(connectors):
            await connector.stop()
        if web_runner is not None:
            await web_runner.cleanup()
        log.info("stopped cleanly")


async def start_unless_stopped(connectors: list[Connector], seconds: float, stop: asyncio.Event) -> bool:
    """Start the connectors, unless a stop request (SIGTERM, Ctrl-C) comes first: then stop them all and say
    False. A platform that does not answer must not hold a stop for PAPERBOY_STARTUP_TIMEOUT."""
    if stop.is_set():
        await _stop_all(connectors)
        return False
    starting = asyncio.ensure_future(start_connectors(connectors, seconds))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if starting.done():
        starting.result()  # a connector that failed to start ends the run with its one line
        return True
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError, PaperboyError):
        await starting
    await _stop_all(connectors)
    return False


async def _stop_all(connectors: list[Connector]) -> None:
    for connector in reversed(connectors):  # safe whether or not it started
        await connector.stop()


async def start_connectors(connectors: list[Connector], seconds: float) -> None:
    """Every connector at once, each within `seconds`. One that fails (a rejected credential, an
    unreachable platform) ends `paperboy run` with one line naming it, after stopping them all: a process that
    stays up but serves nothing looks healthy to a restart policy and to an operator."""

    async def start_one(connector: Connector) -> str | None:
        try:
            await asyncio.wait_for(connector.start(), seconds)
            return None
        except TimeoutError:
            return (f"{connector.platform}: not connected within {seconds:g} s (PAPERBOY_STARTUP_TIMEOUT); "
                    "the log says what was tried")
        except PaperboyError as exc:
            text = str(exc)
            return text if connector.platform in text.lower() else f"{connector.platform}: {text}"

    log.info("connecting: %s", ", ".join(c.platform for c in connectors))
    problems = [p for p in await asyncio.gather(*(start_one(c) for c in connectors)) if p]
    if problems:
        await _stop_all(connectors)
        raise StartupError("; ".join(problems))


async def _warm_models(core: CommandCore, app: App, stop: asyncio.Event) -> None:
    """The learned models read before the first digest run (see `ModelCache.warm`). Only an optimisation: if the
    database fails here, runs read the models as they need them, as before."""
    started = time.monotonic()
    try:
        kept = await core.services.learned_models.warm(app.db, stop=stop)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("could not read the learned models ahead (%s); digest runs will read them as needed",
                    type(exc).__name__)
        return
    if kept:
        log.info("read %d learned models in %.1f s", kept, time.monotonic() - started)


def _describe(connectors: list[Connector], console_wanted: bool) -> str:
    """What serves chat: the platforms, or the console when asked for (or when it is all there is)."""
    platforms = [c.platform for c in connectors if c.platform != "console"]
    return ", ".join(["console"] if console_wanted or not platforms else platforms)
