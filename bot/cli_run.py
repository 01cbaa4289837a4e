"""`paperboy run`: every configured adapter, the scheduler and ingestion in one process, until SIGTERM.

Shutdown is graceful: new work stops, a digest run in progress finishes its posts (so a restart posts nothing
twice), then adapters and the database close.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

import typer

from bot.app import App, build_command_core, build_digest_runner
from bot.digests.digest_runner import Outcome
from bot.digests.poster import DigestPoster
from bot.errors import UsageError
from bot.ingestion.ingest_service import Source
from bot.ingestion.paper_checks import describe_skipped
from bot.logging_setup import configure_logging
from bot.metrics import Metrics
from bot.scheduling import BotScheduler

log = logging.getLogger("paperboy.run")

Stopper = Callable[[], Awaitable[None]]


def register(cli: typer.Typer) -> None:
    from bot.cli import run as run_app
    from bot.cli import settings_from_cli

    @cli.command("run")
    def run_command(
        console: Annotated[bool, typer.Option("--console/--no-console",
                                              help="Also serve a console channel (default: only when no platform "
                                                   "is configured).")] = False,
    ) -> None:
        """Run the bot: adapters, scheduled digests and the daily ingest, until stopped (SIGTERM or Ctrl-C)."""
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
    posters: dict[str, DigestPoster] = {}
    stoppers: list[Stopper] = []
    platforms: list[str] = []
    if settings.slack_bot_token or settings.slack_signing_secret or settings.slack_client_id:
        from adapters.slack.slack_adapter import SlackCredentials, start_slack

        credentials = SlackCredentials(bot_token=settings.slack_bot_token, app_token=settings.slack_app_token,
                                       signing_secret=settings.slack_signing_secret,
                                       client_id=settings.slack_client_id, client_secret=settings.slack_client_secret)
        if problems := credentials.check():
            raise UsageError("Slack is half configured: " + "; ".join(problems))
        slack_poster, stop_slack = await start_slack(core, credentials, app.db, host=settings.http_host,
                                                     port=settings.slack_port)
        posters["slack"] = slack_poster
        stoppers.append(stop_slack)
        platforms.append("slack")
    if settings.discord_token is not None and settings.discord_token.get_secret_value():
        from adapters.discord.discord_adapter import DiscordOptions, DiscordRunner

        discord_runner = DiscordRunner(core, DiscordOptions(token=settings.discord_token,
                                                            application_id=settings.discord_application_id,
                                                            sharded=settings.discord_sharded))
        await discord_runner.start()
        posters["discord"] = discord_runner.poster
        stoppers.append(discord_runner.close)
        platforms.append("discord")
    use_console = console or settings.console or not platforms
    from adapters.console.console_poster import ConsolePoster

    posters["console"] = ConsolePoster(core)

    def on_outcome(outcome: Outcome) -> None:
        metrics.digests.labels(status=outcome.status).inc()

    runner = build_digest_runner(app, core, posters)
    runner.on_outcome = on_outcome

    async def ingest() -> int:
        counts = await app.ingestor.ingest(Source("hf", "today"))
        log.info("daily ingest: %d new, %d updated", counts.new, counts.updated)
        if counts.skipped:
            log.warning("daily ingest: %s", describe_skipped(counts.skipped))
        return counts.new

    scheduler = BotScheduler(runner, app.clock, ingest=ingest, ingest_at=settings.ingest_time,
                             ingest_until_hour=settings.ingest_until_hour, timezone=settings.timezone,
                             tick=timedelta(seconds=settings.tick_seconds))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if _StopRequested.flag:
        log.info("asked to stop while starting")
        stop.set()

    web_runner = None
    if settings.http_port:
        from aiohttp import web

        from bot.ops_server import build_ops_app

        web_runner = web.AppRunner(build_ops_app(app.db, metrics, lambda: scheduler.alive, app.today))
        await web_runner.setup()
        await web.TCPSite(web_runner, settings.http_host, settings.http_port).start()
        log.info("serving /healthz and /metrics on %s:%d", settings.http_host, settings.http_port)

    gc.collect()
    gc.freeze()  # start-up objects never become garbage; keep them out of every collection
    scheduler.start()
    log.info("paperboy running: %s; digests checked every %ss", ", ".join(["console"] if use_console else platforms)
             or "no adapters", settings.tick_seconds)
    console_task = None
    if use_console and sys.stdin.isatty():
        from adapters.console.console_adapter import ConsoleAdapter

        adapter = ConsoleAdapter(core, channel=settings.console_channel)
        console_task = asyncio.create_task(adapter.run())
        console_task.add_done_callback(lambda _t: stop.set())
    try:
        await stop.wait()
    finally:
        log.info("stopping: letting in-flight digests finish")
        await scheduler.drain()
        if console_task is not None:
            console_task.cancel()
        for stopper in stoppers:
            with contextlib.suppress(Exception):
                await stopper()
        if web_runner is not None:
            await web_runner.cleanup()
        log.info("stopped cleanly")
