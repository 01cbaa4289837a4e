"""The operator's HTTP endpoints: /healthz (database reachable, scheduler alive, each connector connected) and
/metrics (Prometheus).

An aiohttp application; Slack's HTTP mode adds /slack/events (and its OAuth pages) to it, so one port
(PAPERBOY_HTTP_PORT) serves everything.

Nobody authenticates to these endpoints, so they say *whether* something is wrong, never *what*: the driver,
user, host, port and database name in a connection error go to the log, which only operators read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Protocol, TypeVar, runtime_checkable

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.connector import Connector
from bot.errors import StorageError
from bot.metrics import Metrics
from bot.redaction import mask_url_credentials
from storage.database import Database
from storage.delivery_store import failing_destinations
from storage.summary_store import summary_stats

log = logging.getLogger(__name__)


T = TypeVar("T")
# The scheduler's one-word state ("ok", "starting", "stuck", "stopped"), or just whether it runs.
SchedulerState = Callable[[], "str | bool"]


class DatabaseReader:
    """One endpoint's reads of the database. A failure (unreachable, a schema it cannot read) is a result, not an
    exception: the endpoint says the database is not ok, and the log says why in one line when the problem starts
    or changes, not on every probe or scrape, with any password in a URL masked."""

    def __init__(self, db: Database, endpoint: str) -> None:
        self.db = db
        self.endpoint = endpoint
        self._last_problem: str | None = None

    async def read(self, query: Callable[[AsyncSession], Awaitable[T]]) -> tuple[bool, T | None]:
        """(True, what `query` returned), or (False, None) when the database could not answer."""
        try:
            await self.db.ping()
            async with self.db.session() as session:
                value = await query(session)
        except StorageError as exc:  # its text names the database with the password masked
            self._problem(str(exc))
            return False, None
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            original = getattr(exc, "orig", None) or exc
            first = (str(original).strip().splitlines() or [""])[0][:200]
            self._problem(f"cannot read database {self.db.describe()}: {type(original).__name__}"
                          + (f": {mask_url_credentials(first)}" if first else ""))
            return False, None
        if self._last_problem is not None:
            log.info("%s: database reachable again", self.endpoint)
        self._last_problem = None
        return True, value

    def _problem(self, problem: str) -> None:
        if problem != self._last_problem:
            log.warning("%s: %s", self.endpoint, problem)
        self._last_problem = problem


class HealthCheck:
    """The answer of /healthz, apart from any web framework, so whichever listener serves it (the ops port, or
    one shared with Slack's routes) asks the same thing: the database, the scheduler, and each platform's
    connection by name ("discord": "reconnecting"). Only names and one-word states: nobody authenticates here."""

    def __init__(self, db: Database, scheduler: SchedulerState, connectors: Sequence[Connector] = ()) -> None:
        self.db = db
        self.scheduler = scheduler
        self.connectors = connectors
        self.reader = DatabaseReader(db, "healthz")

    async def report(self) -> tuple[int, dict[str, str | int]]:
        """(HTTP status, body): 200 when everything is "ok", else 503 with what is not.

        `failing_destinations` counts channels (and DMs) whose latest digest failed — the bot removed from a
        channel, a closed DM. It is a detail, never the status: one bad channel must not make an orchestrator
        restart a bot that serves every other one. `paperboy digest status` names them and says why."""
        checks: dict[str, str] = {}
        reachable, failed = await self.reader.read(failing_destinations)
        checks["database"] = "ok" if reachable else "unreachable"
        failing = len(failed or [])
        checks["scheduler"] = scheduler_word(self.scheduler)
        for connector in self.connectors:  # each platform's connection; the console has none to report
            if (state := connector.health()) is not None:
                checks[connector.platform] = _short_state(state)
        healthy = all(v == "ok" for v in checks.values())
        body: dict[str, str | int] = {"status": "ok" if healthy else "unhealthy", **checks}
        if failing:
            body["failing_destinations"] = failing
        return (200 if healthy else 503), body


def scheduler_word(scheduler: SchedulerState) -> str:
    """"ok", "starting", "stuck", "stopped" (`BotScheduler.state`); a plain alive flag reads as ok or stopped."""
    state = scheduler()
    if isinstance(state, bool):
        return "ok" if state else "stopped"
    return _short_state(state)


def _short_state(state: str) -> str:
    """A connector's own words, cut to one short token: a connector that put an error text in its state must
    not publish it (a host name, an account) on an unauthenticated endpoint."""
    word = state.strip().split(" ", 1)[0].split(":", 1)[0][:20]
    return word if word.replace("_", "").replace("-", "").isalpha() else "unhealthy"


def build_ops_app(db: Database, metrics: Metrics, scheduler: SchedulerState,
                  today: Callable[[], date], *, connectors: Sequence[Connector] = ()) -> web.Application:
    health = HealthCheck(db, scheduler, connectors)
    scrape = DatabaseReader(db, "metrics")

    async def healthz(_request: web.Request) -> web.Response:
        status, body = await health.report()
        return web.json_response(body, status=status)

    async def metrics_view(_request: web.Request) -> web.Response:
        # Still 200 with the database away: the process's own series stay visible, and the gauge says it.
        reachable, stats = await scrape.read(lambda session: summary_stats(session, today()))
        metrics.database_up.set(1 if reachable else 0)
        if stats is not None:
            metrics.llm_calls.set(stats.total.calls)
            metrics.llm_tokens.set(stats.total.tokens)
        metrics.scheduler_alive.set(1 if scheduler_word(scheduler) == "ok" else 0)
        return web.Response(body=metrics.render(), headers={"Content-Type": "text/plain; version=0.0.4"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    for connector in connectors:  # Slack's HTTP mode: /slack/events on this same listener
        if isinstance(connector, HttpRoutes):
            connector.add_routes(app)
    return app


@runtime_checkable
class HttpRoutes(Protocol):
    """A connector that receives its platform's requests over HTTP adds its routes to the one listener."""

    def add_routes(self, web_app: web.Application) -> None: ...
