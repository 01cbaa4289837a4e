"""The Slack adapter: slack-bolt requests in, core calls, Block Kit out. All behaviour stays in the core.

Paths into the core:
- slash commands `/papers`, `/subscribe`, `/unsubscribe`, `/subscriptions`: acknowledged at once (Slack gives
  3 s), then the core does its database and LLM work and the answer goes to the command's `response_url`;
- `message` events in threads under the bot's posts and `app_mention`s: slash commands cannot be used in
  threads, so these are how people ask "summarize 2" or a question there; the answer is posted in the thread;
- buttons under papers ("Summarize", "Why"): answered in the thread of the message they sit on.

Everything the adapter needs is handed in (the core, the bolt app, clocks and sleeps), so tests run it against
a fake Slack on 127.0.0.1 and production wires it once in the composition root.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.slack_renderer import SlackMessage, parse_action_id, render_message
from bot.commands.command_core import CommandCore
from bot.commands.context import ChatContext
from bot.destination import Destination
from bot.digests.poster import DigestTag, PostResult
from bot.errors import DeliveryError
from bot.messages import Message, Reply, Visibility
from storage import event_store
from storage.database import Database
from storage.destination_store import record_posted

log = logging.getLogger(__name__)

PLATFORM = "slack"
COMMANDS = ("papers", "subscribe", "unsubscribe", "subscriptions")
SCOPES = ("commands", "chat:write", "app_mentions:read", "channels:history", "groups:history", "im:history",
          "mpim:history")
ACTION_RE = re.compile(r"^paperboy:(summarize|why)(:\d+)?$")
PERMANENT_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "account_inactive",
                              "invalid_auth", "token_revoked", "missing_scope", "restricted_action",
                              "team_access_not_granted", "no_permission", "ekm_access_denied"})
MENTION_HINT = ("I answer in threads under my paper lists: reply “summarize 2”, or mention me with a question "
                "about a paper. For today's papers, try /papers today.")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class PacedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's rate-limit handler (waits out `Retry-After` on a 429), with the sleep handed in so tests do
    not really wait, and a cap so a huge Retry-After becomes a `DeliveryError(retry_after=…)` instead of a
    request that blocks a digest run for minutes."""

    def __init__(self, *, max_retry_count: int = 2, sleep: Sleep = asyncio.sleep, max_wait: float = 30.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep
        self._max_wait = max_wait

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if response is None or response.status_code != 429:
            return False
        return _retry_after(response.headers) <= self._max_wait

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: HttpResponse | None = None,
                                             error: Exception | None = None) -> None:
        if response is None:
            raise error or RuntimeError("retry without a response")
        state.next_attempt_requested = True
        await self._sleep(_retry_after(response.headers) + random.random() * 0.25)
        state.increment_current_attempt()


def _retry_after(headers: Mapping[str, Any]) -> float:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return 1.0
    return 1.0


def retry_handlers(sleep: Sleep = asyncio.sleep) -> list[AsyncRetryHandler]:
    """What every Slack client we build gets: connection errors retried once, 429s waited out."""
    return [AsyncConnectionErrorRetryHandler(), PacedRateLimitRetryHandler(sleep=sleep)]


def make_web_client(token: SecretStr | None = None, *, base_url: str | None = None,
                    sleep: Sleep = asyncio.sleep) -> AsyncWebClient:
    kwargs: dict[str, Any] = {"retry_handlers": retry_handlers(sleep)}
    if base_url:
        kwargs["base_url"] = base_url
    return AsyncWebClient(token=token.get_secret_value() if token else None, **kwargs)


class EventDeduper:
    """Event ids seen lately: Slack re-sends an event (`X-Slack-Retry-Num`) when it thinks delivery failed, and
    each must be processed once. In memory, bounded and time-limited: Slack retries within minutes. With several
    HTTP processes behind a load balancer a retry can reach another process; Socket Mode has one connection."""

    def __init__(self, *, ttl: float = 3600.0, max_size: int = 20_000, clock: Clock = time.monotonic) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._ttl = ttl
        self._max = max_size
        self._clock = clock

    def first_time(self, key: str) -> bool:
        now = self._clock()
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at < self._ttl and len(self._seen) < self._max:
                break
            self._seen.pop(oldest)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


class DatabaseEventDeduper:
    """The same promise across processes: with several HTTP replicas behind a load balancer, Slack's retry of an
    event may reach any of them, and the shared database lets exactly one handle it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def first_time(self, key: str) -> bool:
        return await event_store.first_time(self.db, f"slack:{key}")


def _event_key(body: Mapping[str, Any]) -> str | None:
    if body.get("type") != "event_callback":
        return None
    event_id = body.get("event_id")
    if event_id:
        return str(event_id)
    event = body.get("event") or {}
    if event.get("ts") and event.get("channel"):
        return f"{event.get('type')}:{event['channel']}:{event['ts']}"
    return None


def _text_chunks(reply: Reply) -> list[SlackMessage]:
    return render_message(reply.message)


class SlackAdapter:
    """Registers Paperboy's listeners on a bolt `AsyncApp` and translates between Slack and the core.

    `post_lists_as_messages`: a slash command's answer normally goes to `response_url`, which returns no message
    ts, so a thread under it cannot be tied to the papers it listed. With this on, channel-visible lists are
    posted with chat.postMessage instead (recorded, so "summarize 2" works in their threads), falling back to
    `response_url` when the bot may not post there (not in the channel).
    """

    def __init__(self, core: CommandCore, app: AsyncApp, *, deduper: EventDeduper | DatabaseEventDeduper | None = None,
                 webhook_sleep: Sleep = asyncio.sleep, post_lists_as_messages: bool = False) -> None:
        self.core = core
        self.app = app
        self.deduper = deduper or EventDeduper()
        self._webhook_sleep = webhook_sleep
        self.post_lists_as_messages = post_lists_as_messages
        self._tasks: set[asyncio.Task[Any]] = set()

    def register(self) -> None:
        self.app.middleware(self._dedupe)
        for name in COMMANDS:
            self.app.command(f"/{name}")(self._on_command)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.action(ACTION_RE)(self._on_action)

    # -- middleware ----------------------------------------------------------------------------------------

    async def _dedupe(self, body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Bolt names the continuation `next`; a duplicate event is acknowledged (200) and dropped."""
        key = _event_key(body)
        fresh = True
        if key is not None:
            answer = self.deduper.first_time(key)
            fresh = await answer if inspect.isawaitable(answer) else bool(answer)
        if not fresh:
            log.info("slack event %s delivered again; already handled", key)
            return BoltResponse(status=200, body="")
        await next()
        return None

    # -- slash commands ------------------------------------------------------------------------------------

    async def _on_command(self, ack: Callable[..., Awaitable[None]], command: dict[str, Any],
                          context: AsyncBoltContext) -> None:
        await ack()  # first, always: database and LLM work happen after Slack has its answer
        ctx = ChatContext(PLATFORM, str(command.get("team_id") or context.team_id or ""),
                          str(command.get("channel_id") or ""), str(command.get("user_id") or ""),
                          channel_name=command.get("channel_name"))
        name = str(command.get("command", "")).lstrip("/")
        reply = await self.core.handle_command(ctx, name, str(command.get("text") or ""))
        response_url = str(command.get("response_url") or "")
        if (self.post_lists_as_messages and reply.paper_ids and reply.visibility is Visibility.CHANNEL
                and context.client is not None):
            try:
                await self._post(context.client, ctx, reply, thread_ts=None)
                return
            except SlackApiError as exc:
                if _error_code(exc) not in PERMANENT_ERRORS:
                    raise
                log.info("cannot post in %s (%s); answering through response_url", ctx.channel, _error_code(exc))
        await self._respond(response_url, reply)

    async def _respond(self, response_url: str, reply: Reply, *, replace_original: bool | None = None) -> None:
        """Answer through `response_url` (works without the bot in the channel; 5 uses in 30 minutes)."""
        if not response_url:
            log.warning("no response_url to answer on")
            return
        client = AsyncWebhookClient(response_url, retry_handlers=retry_handlers(self._webhook_sleep))
        response_type = "ephemeral" if reply.visibility is Visibility.EPHEMERAL else "in_channel"
        for chunk in _text_chunks(reply)[:5]:
            kwargs: dict[str, Any] = {}
            if replace_original is not None:
                kwargs["replace_original"] = replace_original
            result = await client.send(text=chunk.text, blocks=chunk.blocks, response_type=response_type, **kwargs)
            if result.status_code != 200:
                log.warning("response_url answered %s", result.status_code)
                return

    # -- threads -------------------------------------------------------------------------------------------

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        """A reply in a thread. Edits, joins, bot posts and top-level chatter are not for us; a message that
        mentions the bot arrives as `app_mention` too and is answered there, once."""
        if event.get("subtype") or event.get("bot_id"):
            return
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts"):
            return
        text = str(event.get("text") or "")
        if context.bot_user_id and f"<@{context.bot_user_id}" in text:
            return
        ctx = self._event_context(event, body, context, thread_ts=str(thread_ts), mentioned=False)
        reply = await self.core.handle_thread_message(ctx, text)
        if reply is not None and context.client is not None:
            await self._post(context.client, ctx, reply, thread_ts=str(thread_ts))

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        thread_ts = event.get("thread_ts")
        ctx = self._event_context(event, body, context, thread_ts=str(thread_ts) if thread_ts else None,
                                  mentioned=True)
        reply = await self.core.handle_thread_message(ctx, str(event.get("text") or "")) if thread_ts else None
        if reply is None:
            reply = Reply(Message(text=MENTION_HINT), Visibility.EPHEMERAL, in_thread=True)
        if context.client is not None:
            await self._post(context.client, ctx, reply, thread_ts=str(thread_ts or event.get("ts") or "") or None)

    def _event_context(self, event: Mapping[str, Any], body: Mapping[str, Any], context: AsyncBoltContext, *,
                       thread_ts: str | None, mentioned: bool) -> ChatContext:
        team = body.get("team_id") or event.get("team") or context.team_id or ""
        return ChatContext(PLATFORM, str(team), str(event.get("channel") or ""), str(event.get("user") or ""),
                           thread_ref=thread_ts, mentioned=mentioned)

    # -- buttons -------------------------------------------------------------------------------------------

    async def _on_action(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any],
                         context: AsyncBoltContext) -> None:
        await ack()
        actions = body.get("actions") or [{}]
        action = actions[0]
        kind = parse_action_id(str(action.get("action_id") or ""))
        paper_ref = str(action.get("value") or "")
        if kind is None or not paper_ref:
            return
        message = body.get("message") or {}
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
        team = (body.get("team") or {}).get("id") or context.team_id or ""
        thread_ts = message.get("thread_ts") or message.get("ts") or container.get("message_ts")
        ctx = ChatContext(PLATFORM, str(team), str(channel), str((body.get("user") or {}).get("id") or ""),
                          thread_ref=str(thread_ts) if thread_ts else None)
        reply = await self.core.handle_action(ctx, kind, paper_ref)
        if container.get("is_ephemeral") or not thread_ts or context.client is None:
            # An ephemeral message has no thread of its own: answer the clicker privately.
            await self._respond(str(body.get("response_url") or ""), Reply(reply.message, Visibility.EPHEMERAL),
                                replace_original=False)
            return
        await self._post(context.client, ctx, reply, thread_ts=str(thread_ts))

    # -- posting -------------------------------------------------------------------------------------------

    async def _post(self, client: AsyncWebClient, ctx: ChatContext, reply: Reply, *, thread_ts: str | None) -> None:
        """Post a reply (in `thread_ts` when given); a channel-visible reply listing papers is recorded under
        its ts so replies in its thread can refer to its papers by number."""
        for index, chunk in enumerate(_text_chunks(reply)):
            if reply.visibility is Visibility.EPHEMERAL and ctx.user:
                await client.chat_postEphemeral(channel=ctx.channel, user=ctx.user, text=chunk.text,
                                                blocks=chunk.blocks, thread_ts=thread_ts)
                continue
            response = await client.chat_postMessage(channel=ctx.channel, text=chunk.text, blocks=chunk.blocks,
                                                     thread_ts=thread_ts, unfurl_links=False, unfurl_media=False)
            ts = response.get("ts")
            if ts and reply.paper_ids:
                kind = "list" if index == 0 else "list-part"
                await self.core.record_posted(ctx, reply, str(ts), thread_ref=thread_ts, kind=kind)


def _error_code(exc: SlackApiError) -> str:
    response = exc.response
    try:
        return str(response.get("error") or "")
    except Exception:
        return ""


TokenLookup = Callable[[str], Awaitable[str | None]]


DIGEST_EVENT = "paperboy_digest"


class SlackPoster:
    """Digests to Slack (`DigestPoster`): chat.postMessage per chunk, paced per channel, errors mapped.

    Slack allows about one message per second per channel; a long digest is split and each part waits its turn.
    Continuation parts are recorded with the digest's papers (when `db` is given), so "summarize 12" works in
    the thread of any part. `token_for(team_id)` finds each workspace's bot token (OAuth installs); without it,
    the client's own token is used (one workspace, Socket Mode).
    """

    def __init__(self, client: AsyncWebClient, *, token_for: TokenLookup | None = None, db: Database | None = None,
                 interval: float = 1.0, sleep: Sleep = asyncio.sleep, clock: Clock = time.monotonic) -> None:
        self.client = client
        self._token_for = token_for
        self._db = db
        self._interval = interval
        self._sleep = sleep
        self._clock = clock
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _token(self, destination: Destination) -> str | None:
        if self._token_for is None:
            return None
        token = await self._token_for(destination.workspace)
        if not token:
            raise DeliveryError(f"Paperboy is not installed in Slack workspace {destination.workspace}",
                                permanent=True)
        return token

    async def post_digest(self, destination: Destination, message: Message, *,
                          tag: DigestTag | None = None) -> PostResult:
        token = await self._token(destination)
        chunks = render_message(message)
        refs: list[str] = []
        lock = self._locks.setdefault(destination.key, asyncio.Lock())
        # The first part carries the claim as message metadata, where `find_digest` looks for it.
        metadata = {"event_type": DIGEST_EVENT, "event_payload": {"claim": tag.key}} if tag else None
        async with lock:
            for chunk in chunks:
                await self._pace(destination.key)
                refs.append(await self._send(destination, chunk, token, metadata=None if refs else metadata))
        if self._db is not None and len(refs) > 1:
            ids = [item.paper_id for item in message.items]
            async with self._db.session() as session:
                for ref in refs[1:]:
                    await record_posted(session, destination.key, ref, ids, kind="digest-part")
        return PostResult(refs[0])

    async def _pace(self, key: str) -> None:
        last = self._last.get(key)
        if last is not None:
            wait = self._interval - (self._clock() - last)
            if wait > 0:
                await self._sleep(wait)
        self._last[key] = self._clock()

    async def find_digest(self, destination: Destination, message: Message, tag: DigestTag) -> PostResult | None:
        """The channel's recent history, with metadata, searched for this digest's claim."""
        token = await self._token(destination)
        kwargs: dict[str, Any] = {"token": token} if token else {}
        try:
            response = await self.client.conversations_history(channel=destination.channel, limit=100,
                                                               include_all_metadata=True, **kwargs)
        except SlackApiError as exc:
            raise _delivery_error(exc) from exc
        except (TimeoutError, OSError) as exc:
            raise DeliveryError(f"Slack unreachable: {type(exc).__name__}") from exc
        for posted in response.get("messages") or []:
            metadata = posted.get("metadata") or {}
            if (metadata.get("event_type") == DIGEST_EVENT
                    and (metadata.get("event_payload") or {}).get("claim") == tag.key and posted.get("ts")):
                return PostResult(str(posted["ts"]))
        return None

    async def _send(self, destination: Destination, chunk: SlackMessage, token: str | None, *,
                    metadata: dict[str, Any] | None = None) -> str:
        kwargs: dict[str, Any] = {"token": token} if token else {}
        if metadata is not None:
            kwargs["metadata"] = metadata
        try:
            response = await self.client.chat_postMessage(channel=destination.channel, text=chunk.text,
                                                          blocks=chunk.blocks, unfurl_links=False,
                                                          unfurl_media=False, **kwargs)
        except SlackApiError as exc:
            raise _delivery_error(exc) from exc
        except (TimeoutError, OSError) as exc:
            raise DeliveryError(f"Slack unreachable: {type(exc).__name__}") from exc
        ts = response.get("ts")
        if not ts:
            raise DeliveryError("Slack accepted the post but returned no message ts")
        return str(ts)


def _delivery_error(exc: SlackApiError) -> DeliveryError:
    code = _error_code(exc) or "unknown_error"
    status = getattr(exc.response, "status_code", None)
    if code == "ratelimited" or status == 429:
        headers = getattr(exc.response, "headers", {}) or {}
        return DeliveryError("Slack rate limit", retry_after=_retry_after(headers))
    if code in PERMANENT_ERRORS:
        return DeliveryError(f"Slack refused the post: {code}", permanent=True)
    return DeliveryError(f"Slack refused the post: {code}")


# -- building the app ------------------------------------------------------------------------------------------


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
    scopes: Sequence[str] = SCOPES
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


def build_slack_app(core: CommandCore, credentials: SlackCredentials, *, db: Database | None = None,
                    sleep: Sleep = asyncio.sleep, post_lists_as_messages: bool = False,
                    deduper: EventDeduper | DatabaseEventDeduper | None = None) -> SlackRuntime:
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
        app = AsyncApp(signing_secret=_secret(credentials.signing_secret), client=client, oauth_settings=settings)

        async def lookup(team_id: str) -> str | None:
            bot = await sql_store.async_find_bot(enterprise_id=None, team_id=team_id)
            return bot.bot_token if bot is not None else None

        token_for = lookup
    else:
        # The token travels in `client`; an explicit "" keeps bolt from reading SLACK_SIGNING_SECRET itself.
        app = AsyncApp(client=client, signing_secret=_secret(credentials.signing_secret) or "",
                       request_verification_enabled=not credentials.socket_mode)
    if deduper is None and db is not None and not credentials.socket_mode:
        deduper = DatabaseEventDeduper(db)  # HTTP mode may run as several replicas
    adapter = SlackAdapter(core, app, deduper=deduper, webhook_sleep=sleep,
                           post_lists_as_messages=post_lists_as_messages)
    adapter.register()
    poster = SlackPoster(client, token_for=token_for, db=db, sleep=sleep)
    return SlackRuntime(app, adapter, poster, client, installation_store, state_store)


Stopper = Callable[[], Awaitable[None]]


async def start_socket_mode(runtime: SlackRuntime, app_token: SecretStr) -> Stopper:
    """Connect over Socket Mode (one workspace, no public URL); returns how to disconnect."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(runtime.app, app_token.get_secret_value())
    await handler.connect_async()  # type: ignore[no-untyped-call]

    async def stop() -> None:
        await handler.close_async()  # type: ignore[no-untyped-call]

    return stop


async def start_http(runtime: SlackRuntime, *, host: str = "127.0.0.1", port: int = 3000) -> Stopper:
    """Serve `/slack/events` (and `/slack/install`, `/slack/oauth_redirect` with OAuth); returns how to stop."""
    from aiohttp import web

    await runtime.prepare()
    runner = web.AppRunner(runtime.app.web_app(path="/slack/events", port=port))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("Slack HTTP endpoints on %s:%s (/slack/events%s)", host, port,
             ", /slack/install, /slack/oauth_redirect" if runtime.installation_store else "")
    return runner.cleanup


def credentials_from_env(environ: Mapping[str, str]) -> SlackCredentials | None:
    """The Slack settings from an environment mapping the composition root hands in; None: Slack not configured."""

    def secret(name: str) -> SecretStr | None:
        value = environ.get(name, "").strip()
        return SecretStr(value) if value else None

    creds = SlackCredentials(bot_token=secret("SLACK_BOT_TOKEN"), app_token=secret("SLACK_APP_TOKEN"),
                             signing_secret=secret("SLACK_SIGNING_SECRET"),
                             client_id=environ.get("SLACK_CLIENT_ID", "").strip() or None,
                             client_secret=secret("SLACK_CLIENT_SECRET"))
    if not (creds.bot_token or creds.app_token or creds.signing_secret or creds.client_id):
        return None
    return creds


async def start_slack(core: CommandCore, credentials: SlackCredentials, db: Database, *, host: str = "127.0.0.1",
                      port: int = 3000) -> tuple[SlackPoster, Stopper]:
    """Build and start Slack in the mode the credentials call for: Socket Mode, else HTTP (with OAuth when a
    client id and secret are given). Returns the digest poster and how to stop; used by `paperboy run`."""
    runtime = build_slack_app(core, credentials, db=db)
    if credentials.socket_mode and not credentials.oauth:
        assert credentials.app_token is not None
        return runtime.poster, await start_socket_mode(runtime, credentials.app_token)
    return runtime.poster, await start_http(runtime, host=host, port=port)
