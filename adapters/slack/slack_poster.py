"""Slack's Web API side: clients with retries that respect rate limits, and digests posted as paced messages.

Errors are mapped to the core's `DeliveryError` (permanent when retrying cannot help, `retry_after` on 429s).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.slack_renderer import SlackMessage, render_message
from bot.destination import Destination
from bot.digests.poster import SEARCH_MARGIN_SECONDS, DigestTag, PostResult, digest_papers, paper_key, to_post
from bot.errors import DeliveryError
from bot.followups.poster import ThreadTarget
from bot.messages import Message
from bot.personal.routing import from_workspace

log = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "account_inactive",
                              "invalid_auth", "token_revoked", "missing_scope", "restricted_action",
                              "team_access_not_granted", "no_permission", "ekm_access_denied",
                              # a personal digest's person: gone, deactivated, or not reachable by DM
                              "user_not_found", "user_disabled", "cannot_dm_bot", "user_not_visible",
                              "messages_tab_disabled"})
# What Slack answers when the token itself is no good (chat.postMessage and every other method): the same for every
# channel of the workspace, so it is not asked channel by channel (`SlackPoster` holds the token back).
TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
                          "not_allowed_token_type", "invalid_token", "team_disabled", "app_uninstalled"})


def cannot_post_here(code: str) -> bool:
    """Slack will not take the bot's message in this channel (not a member, archived, read-only, thread-only…):
    an answer can still go through the request's response_url."""
    return code in PERMANENT_ERRORS or code.startswith("restricted_action")


# The request as it is cannot be accepted (its blocks, its length, its metadata): sent again it fails the same way.
REFUSED_AS_SENT = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long",
                             "no_text", "too_many_attachments", "invalid_metadata_format", "invalid_metadata_schema",
                             "metadata_too_large", "metadata_must_be_sent_from_app", "invalid_arguments",
                             "invalid_arg_name", "invalid_array_arg", "invalid_charset", "invalid_form_data",
                             "invalid_post_type", "missing_post_type", "invalid_json", "json_not_object",
                             "as_user_not_supported", "too_many_contact_cards"})
TOKEN_RECHECK_SECONDS = 3600.0  # a rejected token is asked again after this long (a reinstall may restore it)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


POST_METHOD = "chat.postMessage"
# Reading a channel's history happens only to find an earlier attempt's post, and outside the Slack Marketplace
# it is allowed once a minute (https://api.slack.com/changelog/2025-05-terms-rate-limit-update-and-faq): its
# pages wait their minute, else every retry would read the first page again and be refused the second.
_LOOKUPS = frozenset({"conversations.history", "conversations.replies"})
LOOKUP_MAX_WAIT = 90.0


class RateHold:
    """Slack's rate limits count per Web API method and workspace (per token), not per channel: after a 429 with
    `Retry-After: N`, every call of that method with that token waits until then — the digests of the other
    channels, run concurrently, included — instead of each hitting the limit again and retrying all at once. A
    429 of another method (conversations.history, whose tier is far lower) holds up no post."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[tuple[str, str], float] = {}

    def hold(self, token: str, seconds: float, method: str = POST_METHOD) -> None:
        until = self._clock() + seconds
        self._until[(token, method)] = max(until, self._until.get((token, method), 0.0))

    def left(self, token: str, method: str = POST_METHOD) -> float:
        return max(0.0, self._until.get((token, method), 0.0) - self._clock())


class PacedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's rate-limit handler (waits out `Retry-After` on a 429), with the sleep handed in so tests do
    not really wait, and a cap so a huge Retry-After becomes a `DeliveryError(retry_after=…)` instead of a
    request that blocks a digest run for minutes. Each 429 also sets the token's `RateHold`."""

    def __init__(self, *, max_retry_count: int = 2, sleep: Sleep = asyncio.sleep, max_wait: float = 30.0,
                 hold: RateHold | None = None) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep
        self.max_wait = max_wait
        self.hold = hold or RateHold()

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if response is None or response.status_code != 429:
            return False
        method = _method(request.url)
        self.hold.hold(_bearer(request.headers), _retry_after(response.headers), method)
        return _retry_after(response.headers) <= (LOOKUP_MAX_WAIT if method in _LOOKUPS else self.max_wait)

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


def _bearer(headers: Mapping[str, Any]) -> str:
    for key, value in headers.items():
        if key.lower() == "authorization":
            return str(value[0] if isinstance(value, list | tuple) else value).removeprefix("Bearer ").strip()
    return ""


# Web API methods that add a message each time they are called: sending one of them again is never safe once the
# request may have reached Slack.
_POSTING_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "chat.meMessage"})


class SafeConnectionErrorRetryHandler(AsyncConnectionErrorRetryHandler):
    """slack_sdk's connection-error retry, except where a retry could post twice. A dropped connection
    (`ServerDisconnectedError`, a reset) may come after Slack stored the message: resending `chat.postMessage`
    then posts a digest twice, which the digest's own retry avoids (it looks for the tagged post first). A
    connection that was never made (`ClientConnectorError`) reached nobody and is retried for every call."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if not await super()._can_retry_async(state=state, request=request, response=response, error=error):
            return False
        return isinstance(error, aiohttp.ClientConnectorError) or not _adds_a_message(request.url)


def _method(url: str) -> str:
    """The Web API method a request calls ("chat.postMessage"); a response_url's path for anything else."""
    return urlsplit(url).path.rsplit("/", 1)[-1]


def _adds_a_message(url: str) -> bool:
    """A posting Web API method, or a `response_url` (every send there is another answer)."""
    return "/api/" not in urlsplit(url).path or _method(url) in _POSTING_METHODS


class NotJson(SlackApiError):
    """Slack (or something answering for it) sent a Web API call a body that is not JSON: a passing failure.
    `what` says so in one line (slack_sdk's own message adds the whole response on a second)."""

    def __init__(self, what: str, response: Any) -> None:
        super().__init__(what, response)  # type: ignore[no-untyped-call]
        self.what = what


class NotJsonRefusal(AsyncRetryHandler):
    """Turns a Web API answer that is not JSON into `NotJson`. slack_sdk reads a text/plain body as a string (it
    expects one only from file uploads) and then fails in its own check of the answer with an AttributeError,
    which no caller expects. Its retry handlers are the one hook that sees every answer, and they are what bolt
    copies into the client it builds for each request, so the check lives here; it retries nothing. Last in the
    list: a 429 with such a body is still waited out by the rate-limit handler first."""

    async def can_retry_async(self, *, state: RetryState, request: HttpRequest,
                              response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if error is None and response is not None and isinstance(response.data, str) \
                and "/api/" in urlsplit(request.url).path:
            raise not_json(request, response)
        return False


def not_json(request: HttpRequest, response: HttpResponse) -> NotJson:
    """The error for a non-JSON answer, in one line: the method, the status, the content type, the body's start
    (printable characters only: it is logged)."""
    kind = next((v[0] for k, v in response.headers.items() if k.lower() == "content-type"), "no content type")
    said = re.sub(r"[^ -~]", "", str(response.data))[:60]
    what = (f"Slack answered {_method(request.url)} with HTTP {response.status_code} and a {kind.split(';')[0]} "
            f"body, not JSON ({said!r})")
    answer = AsyncSlackResponse(client=None, http_verb=request.method, api_url=request.url, req_args={},
                                data={"ok": False}, headers=response.headers, status_code=response.status_code)
    return NotJson(what, answer)


def retry_handlers(sleep: Sleep = asyncio.sleep, clock: Clock = time.monotonic) -> list[AsyncRetryHandler]:
    """What every Slack client we build gets: connection errors retried once where that cannot post twice, 429s
    waited out, and an answer that is not JSON made a `SlackApiError` (`NotJson`)."""
    return [SafeConnectionErrorRetryHandler(), PacedRateLimitRetryHandler(sleep=sleep, hold=RateHold(clock=clock)),
            NotJsonRefusal()]


def make_web_client(token: SecretStr | None = None, *, base_url: str | None = None,
                    sleep: Sleep = asyncio.sleep, clock: Clock = time.monotonic) -> AsyncWebClient:
    kwargs: dict[str, Any] = {"retry_handlers": retry_handlers(sleep, clock)}
    if base_url:
        kwargs["base_url"] = base_url
    return AsyncWebClient(token=token.get_secret_value() if token else None, **kwargs)


# What an unreachable or vanished Slack raises: a connection never made (an OSError), a timeout, or one that Slack
# (or a proxy) closed without an answer (aiohttp's ServerDisconnectedError is no OSError).
UNREACHABLE = (TimeoutError, OSError, aiohttp.ClientError)


def failure_line(exc: BaseException) -> str | None:
    """A failure that is Slack's answer (or no answer) in one line, for a log; None for anything else (a bug of
    ours, which deserves its traceback)."""
    if isinstance(exc, NotJson):
        return exc.what
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", "?")
        return f"Slack answered {error_code(exc) or f'HTTP {status}'}"
    if isinstance(exc, UNREACHABLE):
        return f"Slack unreachable: {type(exc).__name__}"
    return None


def error_code(exc: SlackApiError) -> str:
    response = exc.response
    try:
        return str(response.get("error") or "")
    except Exception:
        return ""


TokenLookup = Callable[[str], Awaitable[str | None]]

# Digest messages carry this metadata event type (with their delivery's tag), so a later attempt can find them.
DIGEST_EVENT = "paperboy_digest"
FOLLOWUP_EVENT = "paperboy_followup"  # follow-up replies in a digest's thread, tagged per (thread, day)
NAME_RETRY_SECONDS = 600.0  # after auth.test could not name a workspace, DM digests go out unnamed this long
HISTORY_PAGES = 5  # of 200 messages: how far back a search for an earlier attempt's digest reads
RecordParts = Callable[[str, list[str], list[int]], Awaitable[None]]


class SlackPoster:
    """Digests to Slack (`DigestPoster`): chat.postMessage per chunk, paced per channel, errors mapped.

    Slack allows about one message per second per channel; a long digest is split and each part waits its turn.
    Continuation parts are recorded with the digest's papers (through `record`, the core's
    `record_digest_parts`), so "summarize 12" works in the thread of any part. `token_for(team_id)` finds each
    workspace's bot token (OAuth installs); without it, the client's own token is used (one workspace).
    """

    def __init__(self, client: AsyncWebClient, *, token_for: TokenLookup | None = None,
                 record: RecordParts | None = None, interval: float = 1.0, sleep: Sleep = asyncio.sleep,
                 clock: Clock = time.monotonic) -> None:
        self.client = client
        self._token_for = token_for
        self._record = record
        self._interval = interval
        self._sleep = sleep
        self._clock = clock
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._limits = next((h for h in client.retry_handlers if isinstance(h, PacedRateLimitRetryHandler)), None)
        self._team_names: dict[str, str | None] = {}
        self._unnamed_until: dict[str, float] = {}  # a failed lookup is not repeated for every DM digest
        self._naming = asyncio.Lock()  # concurrent DM digests of one workspace ask for its name once
        self._rejected: dict[str, tuple[float, str]] = {}  # token → (until when it is held back, Slack's error)

    async def _token(self, destination: Destination) -> str | None:
        """The workspace's bot token (None: the client's own), unless Slack rejected it within the last
        TOKEN_RECHECK_SECONDS: then the post fails with that reason at once, without asking Slack again."""
        token = None
        if self._token_for is not None:
            token = await self._token_for(destination.workspace)
            if not token:
                raise DeliveryError(f"Paperboy is not installed in Slack workspace {destination.workspace}",
                                    permanent=True)
        held = self._rejected.get(token or self.client.token or "")
        if held is not None and held[0] > self._clock():
            raise self._token_refused(destination, token, held[1], held[0] - self._clock())
        return token

    def _token_refused(self, destination: Destination, token: str | None, code: str,
                       held_for: float = TOKEN_RECHECK_SECONDS) -> DeliveryError:
        """Permanent, with when the token is asked again (`retry_after`): a reinstall may have brought it back by
        then, so the digest is tried again then, not held for the rest of the day."""
        fix = "reinstall the app there" + ("" if self._token_for is not None else " or set a new SLACK_BOT_TOKEN")
        return DeliveryError(f"Slack rejected the bot token of workspace {destination.workspace} ({code}): {fix}",
                             permanent=True, retry_after=held_for)

    async def _call(self, call: Awaitable[Any], destination: Destination, token: str | None,
                    refused: str = "Slack refused the post") -> Any:
        """One Web API call with its failures in the core's terms. A rejected token (`TOKEN_ERRORS`) is the same
        for every channel of the workspace: it is held back for TOKEN_RECHECK_SECONDS, and the operator is told
        once, as an error, what to do (never the token itself)."""
        try:
            return await call
        except SlackApiError as exc:
            code = error_code(exc)
            if code not in TOKEN_ERRORS:
                raise _delivery_error(exc, refused) from exc
            key = token or self.client.token or ""
            held = self._rejected.get(key)
            self._rejected[key] = (self._clock() + TOKEN_RECHECK_SECONDS, code)
            error = self._token_refused(destination, token, code)
            if held is None or held[0] <= self._clock():
                log.error("%s; its digests wait (asked again in %d minutes)", error, TOKEN_RECHECK_SECONDS // 60)
            raise error from exc
        except UNREACHABLE as exc:
            raise DeliveryError(f"Slack unreachable: {type(exc).__name__}") from exc

    async def _direct(self, destination: Destination, token: str | None) -> Destination:
        """A personal digest goes to the person's DM with the bot: conversations.open (scope `im:write`) gives
        its channel id, the same one every time. A channel destination is returned as it is."""
        if destination.user is None:
            return destination
        kwargs: dict[str, Any] = {"token": token} if token else {}
        response = await self._call(self.client.conversations_open(users=destination.user, **kwargs), destination,
                                    token, "Slack refused the direct message")
        channel = (response.get("channel") or {}).get("id")
        if not channel:
            raise DeliveryError("Slack opened no direct message channel")
        return dataclasses.replace(destination, channel=str(channel))

    async def _team_name(self, destination: Destination, token: str | None) -> str | None:
        """The workspace a personal digest is for, as auth.test names it for the workspace's token (no scope
        needed; asked once per workspace). None when Slack cannot say now: the digest goes out without it."""
        async with self._naming:
            if destination.workspace not in self._team_names \
                    and self._clock() >= self._unnamed_until.get(destination.workspace, 0.0):
                await self._ask_team_name(destination, token)
        return self._team_names.get(destination.workspace)

    async def _ask_team_name(self, destination: Destination, token: str | None) -> None:
        kwargs: dict[str, Any] = {"token": token} if token else {}
        try:
            response = await self.client.auth_test(**kwargs)
        except (SlackApiError, TimeoutError, OSError) as exc:
            log.info("no name for Slack workspace %s: %s", destination.workspace,
                     error_code(exc) if isinstance(exc, SlackApiError) else type(exc).__name__)
            self._unnamed_until[destination.workspace] = self._clock() + NAME_RETRY_SECONDS
            return
        name, team = response.get("team"), response.get("team_id")
        if isinstance(name, str) and name.strip() and team == destination.workspace:
            self._team_names[destination.workspace] = name

    async def post_digest(self, destination: Destination, message: Message, *,
                          tag: DigestTag | None = None, resume: PostResult | None = None) -> PostResult:
        token = await self._token(destination)
        if destination.user:  # someone in two workspaces gets a digest from each: each says which one it is
            message = from_workspace(message, await self._team_name(destination, token))
        destination = await self._direct(destination, token)
        posting = to_post(message, resume)
        if posting is None and resume is not None:
            return resume  # nothing of it is missing
        assert posting is not None
        chunks, first = render_message(posting[0]), posting[1]
        refs: list[str] = []
        lock = self._locks.setdefault(destination.key, asyncio.Lock())
        async with lock:
            for index, chunk in enumerate(chunks):
                await self._pace(destination.key)
                await self._wait_for_rate_limit(token)
                metadata = digest_metadata(tag, first + index, chunk.numbers, chunk.paper_ids)
                refs.append(await self._send(destination, chunk, token, metadata=metadata))
        later = refs if resume is not None else refs[1:]
        if self._record is not None and later:
            await self._record(destination.key, later, digest_papers(message, resume))
        return PostResult(refs[0], later_refs=tuple(refs[1:]))

    async def _pace(self, key: str) -> None:
        last = self._last.get(key)
        if last is not None:
            wait = self._interval - (self._clock() - last)
            if wait > 0:
                await self._sleep(wait)
        self._last[key] = self._clock()

    async def _wait_for_rate_limit(self, token: str | None) -> None:
        """After a 429 for this workspace, wait until Slack said to come back (or, beyond the handler's cap,
        leave it to the digest's retry) before posting again."""
        if self._limits is None:
            return
        left = self._limits.hold.left(token or self.client.token or "")
        if left > self._limits.max_wait:
            raise DeliveryError("Slack rate limit", retry_after=left)
        if left > 0:
            await self._sleep(left)

    async def find_digest(self, destination: Destination, tag: DigestTag) -> PostResult | None:
        """The tagged digest in the channel's history since the delivery was first claimed (its first part when
        it was split), read with its message metadata; needs the history scopes the manifest asks for."""
        token = await self._token(destination)
        destination = await self._direct(destination, token)
        kwargs: dict[str, Any] = {"token": token} if token else {}
        if tag.since is not None:
            kwargs["oldest"] = f"{tag.since.timestamp() - SEARCH_MARGIN_SECONDS:.6f}"
        parts = await self._search(destination, token, self.client.conversations_history,
                                   "Slack refused the history lookup", lambda item: tagged_part(item, tag),
                                   channel=destination.channel, **kwargs)
        if not parts:
            return None
        shown = [listed_papers(part) for part in parts]  # None: a part posted before parts said
        listed = None if None in shown else {n: key for found in shown if found for n, key in found.items()}
        # every part: replies under a later one ("summarize 12") must find the digest as after a normal post
        return PostResult(str(parts[0]["ts"]), later_refs=tuple(str(part["ts"]) for part in parts[1:]), listed=listed)

    async def _search(self, destination: Destination, token: str | None, lookup: Callable[..., Awaitable[Any]],
                      refused: str, part_of: Callable[[Any], int | None], **kwargs: Any) -> list[dict[str, Any]]:
        """The wanted post's parts (history items, each with a ts), in part order, among at most HISTORY_PAGES
        pages of `lookup` (conversations.history or .replies, with message metadata). `part_of` says which part of
        the wanted post an item is (None: not one of it); the search stops at a part 0 (history comes newest first,
        so the later parts were seen by then)."""
        found: dict[int, dict[str, Any]] = {}
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            response = await self._call(lookup(include_all_metadata=True, limit=200, cursor=cursor, **kwargs),
                                        destination, token, refused)
            for item in response.get("messages") or []:
                part = part_of(item)
                if part is not None and item.get("ts"):
                    found.setdefault(part, item)
            if 0 in found:
                break
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return [found[part] for part in sorted(found)]

    async def _send(self, destination: Destination, chunk: SlackMessage, token: str | None, *,
                    metadata: dict[str, Any] | None = None) -> str:
        kwargs: dict[str, Any] = {"token": token} if token else {}
        if metadata is not None:
            kwargs["metadata"] = metadata
        response = await self._call(self.client.chat_postMessage(channel=destination.channel, text=chunk.text,
                                                                 blocks=chunk.blocks, unfurl_links=False,
                                                                 unfurl_media=False, **kwargs), destination, token)
        ts = response.get("ts")
        if not ts:
            raise DeliveryError("Slack accepted the post but returned no message ts")
        return str(ts)

    async def post_followup(self, destination: Destination, target: ThreadTarget, message: Message) -> str:
        """A follow-up as a reply in the digest's thread (`thread_ts`), paced like any post in the channel and
        marked with its (thread, day) tag as message metadata."""
        token = await self._token(destination)
        kwargs: dict[str, Any] = {"token": token} if token else {}
        refs: list[str] = []
        async with self._locks.setdefault(destination.key, asyncio.Lock()):
            for part, chunk in enumerate(render_message(message)):
                await self._pace(destination.key)
                await self._wait_for_rate_limit(token)  # the workspace's 429 holds follow-ups too
                response = await self._call(self.client.chat_postMessage(
                    channel=destination.channel, thread_ts=target.message_ref, text=chunk.text,
                    blocks=chunk.blocks, unfurl_links=False, unfurl_media=False,
                    metadata={"event_type": FOLLOWUP_EVENT, "event_payload": {"tag": target.tag, "part": part}},
                    **kwargs), destination, token)
                refs.append(str(response.get("ts") or ""))
        return refs[0] if refs else ""

    async def find_followup(self, destination: Destination, target: ThreadTarget) -> str | None:
        """The tagged follow-up among the digest thread's replies (`conversations.replies` with metadata)."""
        token = await self._token(destination)
        kwargs: dict[str, Any] = {"token": token} if token else {}
        found = await self._search(destination, token, self.client.conversations_replies,
                                   "Slack refused the thread lookup",
                                   lambda item: 0 if is_followup(item, target) else None,
                                   channel=destination.channel, ts=target.message_ref, **kwargs)
        return str(found[0]["ts"]) if found else None


def digest_metadata(tag: DigestTag | None, part: int, numbers: tuple[int, ...] = (),
                    paper_ids: tuple[int, ...] = ()) -> dict[str, Any] | None:
    """Slack message metadata marking one part of a digest with its delivery and, for each number it lists, the
    paper (invisible in the channel): a retry posts the rest of a digest by them. A list of flat objects, as
    Slack's types allow in an event payload (`MessageMetadataEventPayloadObject[]`), not a list of numbers."""
    if tag is None:
        return None
    listed = [{"number": n, "paper": p} for n, p in zip(numbers, paper_ids, strict=True)]
    return {"event_type": DIGEST_EVENT,
            "event_payload": {"tag": tag.token, "day": tag.day.isoformat(), "part": part, "listed": listed}}


def listed_papers(item: Any) -> dict[int, str | None] | None:
    """The numbers a digest part lists, each with its paper (`paper_key`) where the metadata says; None when it
    does not say which numbers (a part posted before parts said). Parts posted by the version before this one say
    "items": [numbers], without their papers."""
    payload = _payload(item, DIGEST_EVENT) or {}
    listed, numbers = payload.get("listed"), payload.get("items")
    if isinstance(listed, list) and all(isinstance(e, dict) and _whole(e.get("number")) and _whole(e.get("paper"))
                                        for e in listed):
        return {e["number"]: paper_key(e["paper"]) for e in listed}
    if isinstance(numbers, list) and all(_whole(n) for n in numbers):
        return dict.fromkeys(numbers)
    return None


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _payload(item: Any, event_type: str) -> dict[str, Any] | None:
    """A history item's metadata payload when the item carries metadata of that event type."""
    metadata = item.get("metadata") if isinstance(item, dict) else None
    if not isinstance(metadata, dict) or metadata.get("event_type") != event_type:
        return None
    payload = metadata.get("event_payload")
    return payload if isinstance(payload, dict) else None


def tagged_part(item: Any, tag: DigestTag) -> int | None:
    """Which part of the tagged digest a history item is, or None when it is not one."""
    payload = _payload(item, DIGEST_EVENT)
    if payload is None or payload.get("tag") != tag.token:
        return None
    part = payload.get("part", 0)
    return part if isinstance(part, int) and part >= 0 else 0


def is_followup(item: Any, target: ThreadTarget) -> bool:
    """Whether a thread reply is (a part of) the tagged follow-up."""
    payload = _payload(item, FOLLOWUP_EVENT)
    return payload is not None and payload.get("tag") == target.tag


def _delivery_error(exc: SlackApiError, what: str = "Slack refused the post") -> DeliveryError:
    """Slack's answer in the core's terms, in one line: its error code (with the scope a `missing_scope` needed), or
    the HTTP status when there is no Web API JSON to read one from (a 5xx page from Slack's edge)."""
    code = error_code(exc)
    status = getattr(exc.response, "status_code", None)
    if isinstance(exc, NotJson):
        return DeliveryError(f"{what}: {exc.what}")
    if code == "ratelimited" or status == 429:
        headers = getattr(exc.response, "headers", {}) or {}
        return DeliveryError("Slack rate limit", retry_after=_retry_after(headers))
    if not code:
        return DeliveryError(f"{what}: HTTP {status}")
    detail = code
    if code == "missing_scope":
        needed = _scopes(_field(exc, "needed"))
        detail = f"{code} (needs {needed or 'a scope it does not name'}; reinstall the app with it)"
    permanent = cannot_post_here(code) or code in TOKEN_ERRORS or code in REFUSED_AS_SENT
    return DeliveryError(f"{what}: {detail}", permanent=permanent)


def _field(exc: SlackApiError, name: str) -> Any:
    try:
        return exc.response.get(name)
    except Exception:
        return None


def _scopes(value: Any) -> str:
    """Scope names as Slack lists them ("chat:write,im:write"), nothing else, kept short."""
    return re.sub(r"[^A-Za-z0-9:._,-]", "", str(value or ""))[:120]
