"""Slack's Socket Mode connection for `paperboy run`: slack_sdk's aiohttp client, with two changes an operator
notices — a lost connection is re-opened with growing pauses (not a fixed retry every few seconds that floods
the log with tracebacks), and whether it is connected right now is readable at any time (for /healthz).

slack_sdk does the reconnecting itself (its session monitor and receiver call `connect_to_new_endpoint`, which
asks `apps.connections.open` for a fresh URL); the pause goes in front of that request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.slack_poster import Sleep, failure_line

log = logging.getLogger(__name__)


class _OneLine(logging.Filter):
    """slack_sdk logs each failed reconnection attempt with a traceback, and the error's text goes on to a second
    line with the whole response ("The server responded with: …"); the first line says as much."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        message = record.getMessage()
        if "\n" in message:
            record.msg, record.args = message.split("\n", 1)[0], None
        return True


def socket_logger() -> logging.Logger:
    sdk_log = logging.getLogger("paperboy.slack.socket_mode")
    if not any(isinstance(f, _OneLine) for f in sdk_log.filters):
        sdk_log.addFilter(_OneLine())
    return sdk_log


class BackoffSocketModeClient(SocketModeClient):
    """slack_sdk's client; after a failed attempt to get a new connection URL, the next one waits 1, 2, 4 … up to
    `max_backoff` seconds (reset by a success)."""

    def __init__(self, *args: Any, sleep: Sleep = asyncio.sleep, max_backoff: float = 60.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures = 0
        self._sleep = sleep
        self._max_backoff = max_backoff

    def backoff(self) -> float:
        return 0.0 if self.failures == 0 else min(self._max_backoff, 2.0 ** (self.failures - 1))

    async def issue_new_wss_url(self) -> str:
        if self.failures:
            await self._sleep(self.backoff())
        try:
            url: str = await super().issue_new_wss_url()
        except Exception as exc:
            self.failures += 1
            log.warning("Slack Socket Mode: no new connection (%s); next try in %.0f s", _short(exc), self.backoff())
            raise
        self.failures = 0
        return url

    def connected(self) -> bool:
        """Connected now (slack_sdk's own `is_connected`, without its ping bookkeeping, so it can be sync)."""
        session = self.current_session
        return not self.closed and not self.stale and session is not None and not session.closed


def _short(exc: Exception) -> str:
    """What Slack answered (its error code, or what came back instead of JSON), or what kept it from answering;
    the exception's name only for anything else (the app token is in none of them)."""
    return failure_line(exc) or type(exc).__name__


class SocketModeConnection(AsyncSocketModeHandler):
    """bolt's Socket Mode handler on a `BackoffSocketModeClient` (the same request handling: bolt's `handle`)."""

    client: BackoffSocketModeClient

    def __init__(self, app: AsyncApp, app_token: str, *, web_client: AsyncWebClient, ping_interval: float = 10.0,
                 sleep: Sleep = asyncio.sleep) -> None:
        # Not super().__init__: it would build a plain SocketModeClient (with its own HTTP session and task).
        self.app = app
        self.app_token = app_token
        self.client = BackoffSocketModeClient(app_token=app_token, logger=socket_logger(), web_client=web_client,
                                              ping_interval=ping_interval, sleep=sleep)
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    async def open(self, wss_url: str) -> None:
        """Connect to a URL `apps.connections.open` just gave (the caller checked the token with it)."""
        self.client.wss_uri = wss_url  # type: ignore[assignment]
        await self.client.connect()  # type: ignore[no-untyped-call]

    def connected(self) -> bool:
        return self.client.connected()
