"""Slack's life in `paperboy run`: credentials, the bolt app with its OAuth stores, and the `SlackConnector`
that starts it in Socket Mode or HTTP mode and stops it cleanly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.slack_http import SlackBoltApp, add_slack_routes
from adapters.slack.slack_listeners import SlackAdapter
from adapters.slack.slack_poster import (
    TOKEN_ERRORS,
    NotJson,
    SlackPoster,
    Sleep,
    TokenLookup,
    error_code,
    make_web_client,
)
from adapters.slack.slack_socket import SocketModeConnection
from bot.commands.command_core import CommandCore
from bot.config_check import SLACK_SIGNING_SECRET_SHAPE
from bot.dedupe import Deduper
from bot.errors import PaperboyError, UsageError

log = logging.getLogger(__name__)

PLATFORM = "slack"
SCOPES = ("commands", "chat:write", "im:write", "app_mentions:read", "channels:history", "groups:history",
          "im:history", "mpim:history")  # im:write: conversations.open for personal digests by direct message


class EngineHolder(Protocol):
    """The database, as far as slack_sdk's OAuth stores need it: its async engine."""

    @property
    def engine(self) -> AsyncEngine: ...


# What Slack's Basic Information page shows as the Signing Secret (hex in practice). Nothing at Slack can check one
# before the first request, so a value of another shape (the 24-character verification token, a cut or quoted
# paste) is refused at start instead of failing every request with 401.

# conversations.info: whether the bot is a member of a channel before it is subscribed there.
MEMBERSHIP_SCOPES = ("channels:read", "groups:read")


@dataclass(frozen=True)
class SlackCredentials:
    """The Slack settings, read by the composition root (environment) and handed in; secrets stay SecretStr.

    Socket Mode needs `bot_token` (xoxb-) and `app_token` (xapp-). HTTP mode needs `signing_secret` and, for
    installs into many workspaces, `client_id` + `client_secret`.
    """

    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scopes: Sequence[str] = SCOPES + MEMBERSHIP_SCOPES
    api_base_url: str | None = None  # tests: a fake Slack on 127.0.0.1

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token and self.bot_token)

    @property
    def oauth(self) -> bool:
        return bool(self.client_id and self.client_secret and self.signing_secret)

    def check(self) -> list[str]:
        """What is missing or wrong, as lines for people (never echoing a secret)."""
        problems = []
        if not (self.socket_mode or self.signing_secret):
            problems.append("set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode), or SLACK_SIGNING_SECRET "
                            "(HTTP mode, with SLACK_BOT_TOKEN or SLACK_CLIENT_ID/SLACK_CLIENT_SECRET)")
        if self.bot_token and not self.bot_token.get_secret_value().startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN should start with xoxb-")
        if self.app_token and not self.app_token.get_secret_value().startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN should start with xapp-")
        if self.signing_secret and not (self.bot_token or self.oauth):
            problems.append("HTTP mode needs SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
                            "SLACK_CLIENT_SECRET (OAuth installs)")
        return problems


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


@dataclass
class SlackRuntime:
    """A built Slack app and what goes with it: the adapter, the digest poster, and the OAuth store if any."""

    app: AsyncApp
    adapter: SlackAdapter
    poster: SlackPoster
    client: AsyncWebClient
    installation_store: AsyncInstallationStore | None = None
    state_store: AsyncSQLAlchemyOAuthStateStore | None = None

    async def prepare(self) -> None:
        """Create slack_sdk's own OAuth tables (slack_installations, slack_bots, slack_oauth_states) if missing.
        They belong to slack_sdk, not to Paperboy's migrations; `create_all` only adds what is absent."""
        if isinstance(self.installation_store, AsyncSQLAlchemyInstallationStore):
            await self.installation_store.create_tables()  # type: ignore[no-untyped-call]
        if self.state_store is not None:
            await self.state_store.create_tables()  # type: ignore[no-untyped-call]


def build_slack_app(core: CommandCore, credentials: SlackCredentials, *, db: EngineHolder | None = None,
                    sleep: Sleep = asyncio.sleep, post_lists_as_messages: bool = True,
                    deduper: Deduper | None = None) -> SlackRuntime:
    """The bolt app for the given credentials: OAuth (many workspaces, installs stored in Paperboy's database)
    when a client id and secret are given, otherwise one workspace with a fixed bot token.

    The OAuth stores use slack_sdk's *async* SQLAlchemy classes on the database's own async engine (aiosqlite
    or asyncpg), so no second, sync URL is needed; on PostgreSQL the engine's search_path puts the tables in
    Paperboy's schema.
    """
    problems = credentials.check()
    if problems:
        raise ValueError("; ".join(problems))
    client = make_web_client(credentials.bot_token if not credentials.oauth else None,
                             base_url=credentials.api_base_url, sleep=sleep)
    installation_store: AsyncInstallationStore | None = None
    state_store: AsyncSQLAlchemyOAuthStateStore | None = None
    token_for: TokenLookup | None = None
    if credentials.oauth:
        if db is None:
            raise ValueError("OAuth installs need the database")
        assert credentials.client_id is not None
        sql_store = AsyncSQLAlchemyInstallationStore(client_id=credentials.client_id, engine=db.engine)
        installation_store = sql_store
        state_store = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=db.engine)
        settings = AsyncOAuthSettings(client_id=credentials.client_id,
                                      client_secret=_secret(credentials.client_secret),
                                      scopes=list(credentials.scopes), installation_store=installation_store,
                                      state_store=state_store, install_path="/slack/install",
                                      redirect_uri_path="/slack/oauth_redirect")
        app = SlackBoltApp(signing_secret=_secret(credentials.signing_secret), client=client, oauth_settings=settings)
        # app_uninstalled / tokens_revoked (manifest events): bolt deletes the workspace's rows from the store.
        app.enable_token_revocation_listeners()

        async def lookup(team_id: str) -> str | None:
            bot = await sql_store.async_find_bot(enterprise_id=None, team_id=team_id)
            return bot.bot_token if bot is not None else None

        token_for = lookup
    else:
        # The token travels in `client`; an explicit "" keeps bolt from reading SLACK_SIGNING_SECRET itself.
        app = SlackBoltApp(client=client, signing_secret=_secret(credentials.signing_secret) or "",
                           request_verification_enabled=not credentials.socket_mode)
    if deduper is None and db is not None and not credentials.socket_mode:
        deduper = core.event_deduper()  # HTTP mode may run as several replicas: dedupe in the database
    adapter = SlackAdapter(core, app, deduper=deduper, webhook_sleep=sleep,
                           post_lists_as_messages=post_lists_as_messages)
    adapter.register()
    poster = SlackPoster(client, token_for=token_for, record=core.record_digest_parts if db is not None else None,
                         sleep=sleep)
    return SlackRuntime(app, adapter, poster, client, installation_store, state_store)


REJECTED = TOKEN_ERRORS  # what Slack answers when a token itself is bad (not a passing failure)


@dataclass(frozen=True)
class TokenCheck:
    """What Slack said about the tokens: the bot's identity (auth.test) and, for Socket Mode, a fresh connection
    URL (apps.connections.open)."""

    bot: dict[str, str]
    socket_url: str | None = None


async def check_tokens(client: AsyncWebClient, credentials: SlackCredentials, *, socket_mode: bool) -> TokenCheck:
    """Ask Slack about each configured token, as `paperboy run` does at start and `paperboy slack check` does on
    request; a rejection or an unreachable Slack is a `PaperboyError` of one line naming the variable."""
    bot: dict[str, str] = {}
    if credentials.bot_token is not None:
        response = await _ask(credentials, "SLACK_BOT_TOKEN", "auth.test", client.auth_test())
        bot = {k: str(response.get(k, "")) for k in ("team", "team_id", "user", "user_id")}
    url = None
    if socket_mode and credentials.app_token is not None:
        token = credentials.app_token.get_secret_value()
        response = await _ask(credentials, "SLACK_APP_TOKEN", "apps.connections.open",
                              client.apps_connections_open(app_token=token))
        url = str(response.get("url") or "")
    return TokenCheck(bot, url)


async def _ask(credentials: SlackCredentials, variable: str, method: str, call: Awaitable[Any]) -> Any:
    try:
        return await call
    except NotJson as exc:
        raise PaperboyError(f"{exc.what}, checking {variable}") from None
    except SlackApiError as exc:
        code = error_code(exc) or "unknown_error"
        if code in REJECTED:
            raise PaperboyError(f"Slack rejected {variable} ({method}: {code})") from None
        raise PaperboyError(f"Slack refused {method} for {variable}: {code}") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        where = credentials.api_base_url or "https://slack.com/api/"
        raise PaperboyError(f"Slack unreachable at {where} ({method}: {type(exc).__name__})") from None


class SlackConnector:
    """`Connector` for Slack: Socket Mode with an app token, else HTTP mode (with OAuth when a client id and secret
    are given), whose routes `paperboy run` serves on its one listener (PAPERBOY_HTTP_PORT) through `add_routes`.

    `start` returns only when Slack accepted the credentials (auth.test for the bot token; apps.connections.open
    and a live socket for the app token) and raises `PaperboyError` with one line when it refused them or could
    not be reached. Afterwards slack_sdk re-opens a lost socket (with growing pauses) and `health` says
    "reconnecting" until it is back.
    """

    platform = PLATFORM

    def __init__(self, core: CommandCore, credentials: SlackCredentials, db: EngineHolder, *,
                 http_port: int | None = None, ping_interval: float = 10.0, sleep: Sleep = asyncio.sleep) -> None:
        if problems := credentials.check():
            raise UsageError("Slack is half configured: " + "; ".join(problems))
        self.credentials = credentials
        self.socket_mode = credentials.socket_mode and not credentials.oauth
        if not self.socket_mode and http_port is None:
            raise UsageError("Slack HTTP mode needs PAPERBOY_HTTP_PORT: Slack's requests (/slack/events) are "
                             "served on that port, with /healthz and /metrics")
        self.runtime = build_slack_app(core, credentials, db=db, sleep=sleep)
        self._ping_interval = ping_interval
        self._sleep = sleep
        self._socket: SocketModeConnection | None = None
        self._state = "connecting"

    @property
    def poster(self) -> SlackPoster:
        return self.runtime.poster

    def add_routes(self, web_app: web.Application) -> None:
        """HTTP mode: /slack/events (and the OAuth pages) on the ops listener; Socket Mode needs no route."""
        if not self.socket_mode:
            paths = add_slack_routes(web_app, self.runtime.app)
            log.info("Slack HTTP mode: %s served with /healthz", ", ".join(paths))

    async def start(self) -> None:
        secret = _secret(self.credentials.signing_secret) or ""
        if not self.socket_mode and not SLACK_SIGNING_SECRET_SHAPE.fullmatch(secret):
            raise PaperboyError("SLACK_SIGNING_SECRET is not a signing secret (32 letters and digits, from the app's "
                                "Basic Information → App Credentials): Slack's requests would all be refused")
        checked = await check_tokens(self.runtime.client, self.credentials, socket_mode=self.socket_mode)
        if self.socket_mode:
            assert self.credentials.app_token is not None and checked.socket_url is not None
            token = self.credentials.app_token.get_secret_value()
            self._socket = SocketModeConnection(self.runtime.app, token, web_client=self.runtime.client,
                                                ping_interval=self._ping_interval, sleep=self._sleep)
            await self._socket.open(checked.socket_url)
            log.info("Slack: connected over Socket Mode")
        else:
            try:
                await self.runtime.prepare()
            except Exception as exc:  # SQLAlchemy's own errors: the database is Paperboy's, the line is ours
                log.warning("Slack: creating slack_sdk's OAuth tables failed", exc_info=exc)
                raise PaperboyError("Slack HTTP mode: could not create slack_sdk's OAuth tables in the database "
                                    f"({type(exc).__name__}; the log says more)") from None
        self._state = "ok"

    async def stop(self) -> None:
        socket, self._socket = self._socket, None
        self._state = "stopped"
        if socket is not None:
            try:
                await socket.close_async()  # type: ignore[no-untyped-call]
            except Exception:
                log.exception("Slack did not stop cleanly")

    def health(self) -> str | None:
        if self._state == "ok" and self._socket is not None and not self._socket.connected():
            return "reconnecting"
        return self._state
