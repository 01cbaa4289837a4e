"""Slack's HTTP mode: the bolt app's routes (/slack/events, and /slack/install, /slack/oauth_redirect with OAuth)
added to the one web listener `paperboy run` already has for /healthz and /metrics (PAPERBOY_HTTP_PORT), and
the request check bolt lacks.
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


class SlackBoltApp(AsyncApp):
    """bolt's `AsyncApp`, refusing a request whose `X-Slack-Request-Timestamp` is not a number with 401 (as for any
    bad signature). bolt's verifier calls `int()` on it and answers a garbled header with a 500 and a traceback."""

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        if req.mode != "socket_mode":  # Socket Mode requests carry no signature headers
            stamp = (req.headers.get("x-slack-request-timestamp") or ["0"])[0]
            if not stamp.strip().isdigit():
                self.logger.info("Slack request with a malformed timestamp refused")
                return BoltResponse(status=401, body={"error": "invalid request"})
        return await super().async_dispatch(req)


def add_slack_routes(web_app: web.Application, app: AsyncApp) -> list[str]:
    """Serve Slack's HTTP routes from `web_app` (before it starts); returns the paths added."""

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app.router.add_post(EVENTS_PATH, events)
    paths = [EVENTS_PATH]
    flow = app.oauth_flow
    if flow is not None:
        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

        async def redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

        web_app.router.add_get(flow.install_path, install)
        web_app.router.add_get(flow.redirect_uri_path, redirect)
        paths += [flow.install_path, flow.redirect_uri_path]
    return paths
