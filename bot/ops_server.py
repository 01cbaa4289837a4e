"""The operator's HTTP endpoints: /healthz (database reachable, scheduler alive, each connector connected) and
/metrics (Prometheus).

An aiohttp application; Slack's HTTP mode adds /slack/events (and its OAuth pages) to it, so one port
(PAPERBOY_HTTP_PORT) serves everything.

Nobody authenticates to these endpoints, so they say *whether* something is wrong, never *what*: the driver,
user, host, port and database name in a connection error go to the log, which only operators read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from aiohttp import web

from bot.connector import Connector
from bot.errors import StorageError
from bot.metrics import Metrics
from storage.database import Database
from storage.summary_store import summary_stats

log = logging.getLogger(__name__)


def build_ops_app(db: Database, metrics: Metrics, scheduler_alive: Callable[[], bool],
                  today: Callable[[], object], *, connectors: Sequence[Connector] = ()) -> web.Application:
    last_problem: list[str | None] = [None]  # log a database problem when it starts or changes, not every probe

    async def healthz(_request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            await db.ping()
            checks["database"] = "ok"
            if last_problem[0] is not None:
                log.info("healthz: database reachable again")
            last_problem[0] = None
        except StorageError as exc:
            checks["database"] = "unreachable"
            if str(exc) != last_problem[0]:
                log.warning("healthz: %s", exc)
            last_problem[0] = str(exc)
        checks["scheduler"] = "ok" if scheduler_alive() else "stopped"
        for connector in connectors:  # each platform's connection; the console has none to report
            if (state := connector.health()) is not None:
                checks[connector.platform] = state
        healthy = all(v == "ok" for v in checks.values())
        return web.json_response({"status": "ok" if healthy else "unhealthy", **checks},
                                 status=200 if healthy else 503)

    async def metrics_view(_request: web.Request) -> web.Response:
        try:
            async with db.session() as session:
                stats = await summary_stats(session, today())  # type: ignore[arg-type]
            metrics.llm_calls.set(stats.total.calls)
            metrics.llm_tokens.set(stats.total.tokens)
        except Exception:
            pass
        metrics.scheduler_alive.set(1 if scheduler_alive() else 0)
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
