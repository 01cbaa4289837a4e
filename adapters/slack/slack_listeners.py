"""The Slack adapter: slack-bolt requests in, core calls, Block Kit out. All behaviour stays in the core.

Paths into the core:
- slash commands `/papers`, `/subscribe`, `/unsubscribe`, `/subscriptions`: acknowledged at once (Slack gives
  3 s), then the core does its database and LLM work; a list of papers is posted in the channel (so replies in
  its thread work), anything else — and everything where the bot is not a member — goes to the command's
  `response_url`; `/subscribe` and `/papers digest` first check that the bot is a member of the channel;
- `message` events in threads under the bot's posts and `app_mention`s: slash commands cannot be used in
  threads, so these are how people ask "summarize 2" or a question there; the answer is posted in the thread;
- buttons under papers ("Summarize", "Why"): answered in the thread of the message they sit on, or privately
  through the click's `response_url` where the bot may not post (not a member of the channel).

Slack escapes `&`, `<` and `>` in what people type (`&amp;`, `&lt;`, `&gt;`); `slack_text` decodes them once,
here at the edge, so the core sees "R&D" and renderers escape it once again on the way out.

Everything the adapter needs is handed in (the core, the bolt app, clocks and sleeps), so tests run it against
a fake Slack on 127.0.0.1 and production wires it once in the composition root.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.slack_feedback import JUDGE_ACTION_RE, START_ACTION_RE, click_context, on_judge, on_start_topic
from adapters.slack.slack_poster import UNREACHABLE, Sleep, cannot_post_here, error_code, failure_line, retry_handlers
from adapters.slack.slack_renderer import Block, SlackMessage, parse_action_id, render_message
from bot.commands.command_core import SORRY, CommandCore, error_reply
from bot.commands.command_table import COMMANDS, posts_here
from bot.commands.context import ChatContext
from bot.dedupe import Deduper, EventDeduper
from bot.messages import Message, Reply, Visibility

log = logging.getLogger(__name__)
# Message subtypes that are still a person writing (https://docs.slack.dev/reference/events/message): every
# other subtype is an edit, a deletion, a join or a bot's post.
_PERSON_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})

PLATFORM = "slack"
ACTION_RE = re.compile(r"^paperboy:(summarize|why)(:\d+)?$")
NOT_A_MEMBER = ("I'm not a member of this channel, so I could not post its digests here. Add me first: type "
                "/invite @paperboy in this channel (or mention me and pick Invite), then run the command again. "
                "Nothing was changed.")
CLICK_WINDOW = 10.0  # seconds: the same button clicked again by the same person within half of this is one click
# 👍/👎: a second click withdraws, which people do on purpose once they see the count: only a double click's
# second half (well under a second later) is dropped
JUDGE_CLICK_WINDOW = 1.5
_ENTITY_RE = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
# Slack takes five answers on one response_url within 30 minutes and drops any more without a word.
RESPONSE_URL_USES = 5
RESPONSE_URL_WINDOW = 1800.0
LEFT_OUT = ("{count} more part{s} of this answer could not be shown: Slack lets me answer a command or a click only "
            "5 times. {how}")
INVITE_ME = "Add me to this channel (/invite @paperboy) and I post long lists as messages instead."
ASK_AGAIN = "Slack did not take the rest as messages either; please ask again in a moment."
MENTION_HINT = ("I answer in threads under my paper lists: reply “summarize 2”, or mention me with a question "
                "about a paper. For today's papers, try /papers today.")


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


def slack_text(text: str) -> str:
    """What the person typed: Slack sends `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;` (and escapes nothing else).
    One pass, so a typed "&amp;lt;" stays "&lt;"."""
    return _ENTITY_RE.sub(lambda m: _ENTITIES[m.group(1)], text)


def _click_keys(body: Mapping[str, Any], action: Mapping[str, Any], channel: str,
                window: float = CLICK_WINDOW) -> list[str]:
    """Two keys for one click, on two time grids offset by half a window: two clicks of the same button by the
    same person less than half a window apart share a key (one is dropped); more than a window apart they never
    do."""
    try:
        at = float(action.get("action_ts") or 0) or time.time()
    except (TypeError, ValueError):
        at = time.time()
    message = body.get("message") or {}
    container = body.get("container") or {}
    base = ":".join(str(part) for part in (
        "click", (body.get("team") or {}).get("id"), channel, message.get("ts") or container.get("message_ts"),
        (body.get("user") or {}).get("id"), action.get("action_id"), action.get("value")))
    return [f"{base}:{int(at // window)}", f"{base}:h{int((at + window / 2) // window)}"]


def _asker(client: AsyncWebClient | None, body: Mapping[str, Any]) -> Where | None:
    """Who made a request (a command's or a click's body), and where, for answering through the Web API."""
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id") \
        or (body.get("container") or {}).get("channel_id")
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    if client is None or not channel or not user:
        return None
    team = body.get("team_id") or (body.get("team") or {}).get("id") or ""
    return client, ChatContext(PLATFORM, str(team), str(channel), str(user))


def _text_chunks(reply: Reply) -> list[SlackMessage]:
    return render_message(reply.message)


class ResponseUrlUses:
    """How many answers each response_url has taken within Slack's window (this process's own count: a request
    is answered by the process it came to). Keyed by the URL itself, so whatever Slack hands out again counts
    together."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._uses: dict[str, list[float]] = {}

    def left(self, url: str) -> int:
        now = self._clock()
        for key in [k for k, times in self._uses.items() if times[-1] <= now - RESPONSE_URL_WINDOW]:
            del self._uses[key]  # forgotten once Slack has forgotten them
        recent = [t for t in self._uses.get(url, []) if t > now - RESPONSE_URL_WINDOW]
        return max(0, RESPONSE_URL_USES - len(recent))

    def spend(self, url: str) -> None:
        self._uses.setdefault(url, []).append(self._clock())


Where = tuple[AsyncWebClient, ChatContext]  # where the Web API can take what a response_url no longer may


class SlackAdapter:
    """Registers Paperboy's listeners on a bolt `AsyncApp` and translates between Slack and the core.

    `post_lists_as_messages` (on by default): an answer through `response_url` returns no message ts, so a thread
    under it could not be tied to the papers it listed. Channel-visible lists are posted with chat.postMessage
    instead (recorded, so "summarize 2" works in their threads, as for digests), falling back to `response_url`
    when the bot may not post there (not in the channel).
    """

    def __init__(self, core: CommandCore, app: AsyncApp, *, deduper: Deduper | None = None,
                 webhook_sleep: Sleep = asyncio.sleep, post_lists_as_messages: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.core = core
        self.app = app
        self.deduper = deduper or EventDeduper()
        self._webhook_sleep = webhook_sleep
        self.post_lists_as_messages = post_lists_as_messages
        self._tasks: set[asyncio.Task[Any]] = set()
        self._uses = ResponseUrlUses(clock)

    def register(self) -> None:
        self.app.middleware(self._dedupe)
        for name in COMMANDS:
            self.app.command(f"/{name}")(self._on_command)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.action(ACTION_RE)(self._on_action)
        self.app.action(JUDGE_ACTION_RE)(self._on_judge)
        self.app.action(START_ACTION_RE)(self._on_start_topic)
        self.app.error(self._on_error)

    # -- middleware ----------------------------------------------------------------------------------------

    async def _dedupe(self, body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Bolt names the continuation `next`; a duplicate event is acknowledged (200) and dropped."""
        key = _event_key(body)
        fresh = True
        if key is not None:
            fresh = await self.deduper.first_time(key)
        if not fresh:
            log.info("slack event %s delivered again; already handled", key)
            return BoltResponse(status=200, body="")
        await next()
        return None

    # -- failures --------------------------------------------------------------------------------------------

    async def _on_error(self, error: Exception, body: dict[str, Any], client: AsyncWebClient | None = None) -> None:
        """bolt's global error hook: a listener failed outside the core's own error boundary (Slack refused a
        post, the network broke). Operators get one line for what Slack answered (or that it did not), the
        traceback for anything else; whoever asked gets the short apology, privately, when the request carries a
        `response_url` (commands and buttons)."""
        said = failure_line(error)
        if said is not None:
            log.warning("slack listener failed: %s", said)
        else:
            log.error("slack listener failed: %s", type(error).__name__, exc_info=error)
        response_url = str(body.get("response_url") or "")
        if response_url:
            try:
                await self._respond(response_url, error_reply(SORRY), replace_original=False,
                                    where=_asker(client, body))
            except Exception:
                log.warning("could not tell the user about the failure")

    # -- slash commands ------------------------------------------------------------------------------------

    async def _on_command(self, ack: Callable[..., Awaitable[None]], command: dict[str, Any],
                          context: AsyncBoltContext) -> None:
        await ack()  # first, always: database and LLM work happen after Slack has its answer
        ctx = ChatContext(PLATFORM, str(command.get("team_id") or context.team_id or ""),
                          str(command.get("channel_id") or ""), str(command.get("user_id") or ""),
                          channel_name=command.get("channel_name"))
        name = str(command.get("command", "")).lstrip("/")
        text = slack_text(str(command.get("text") or ""))
        response_url = str(command.get("response_url") or "")
        if posts_here(name, text) and context.client is not None and not await self._is_member(context.client,
                                                                                                 ctx.channel):
            await self._respond(response_url, Reply(Message(text=NOT_A_MEMBER), Visibility.EPHEMERAL))
            return
        reply = await self.core.handle_command(ctx, name, text)
        where = (context.client, ctx) if context.client is not None else None
        if (self.post_lists_as_messages and reply.paper_ids and reply.visibility is Visibility.CHANNEL
                and context.client is not None):
            try:
                await self._post(context.client, ctx, reply, thread_ts=None)
                await self._respond_private(response_url, reply, where)
                return
            except SlackApiError as exc:
                if not cannot_post_here(error_code(exc)):
                    raise
                log.info("cannot post in %s (%s); answering through response_url", ctx.channel, error_code(exc))
        await self._respond(response_url, reply, where=where)
        await self._respond_private(response_url, reply, where)

    async def _respond_private(self, response_url: str, reply: Reply, where: Where | None) -> None:
        """The part of a reply only the asker sees (the "for you" list), as an ephemeral response."""
        if reply.private is not None:
            await self._respond(response_url, Reply(reply.private, Visibility.EPHEMERAL), replace_original=False,
                                where=where)

    async def _is_member(self, client: AsyncWebClient, channel: str) -> bool:
        """Whether the bot may post in `channel` (conversations.info's `is_member`). A channel the bot cannot
        see (private, or someone else's DM) is `channel_not_found`: no. When Slack cannot say (no
        `channels:read` scope on an older install, an outage), assume yes: the digest will tell."""
        try:
            info = await client.conversations_info(channel=channel)
        except SlackApiError as exc:
            if error_code(exc) in ("channel_not_found", "not_in_channel"):
                return False
            log.info("cannot tell whether I am in %s (%s); going ahead", channel, failure_line(exc))
            return True
        except UNREACHABLE as exc:
            log.info("cannot tell whether I am in %s (%s); going ahead", channel, failure_line(exc))
            return True
        found = info.get("channel") or {}
        return found.get("is_member") is not False  # a DM has no is_member: the bot's own DMs are fine

    async def _respond(self, response_url: str, reply: Reply, *, replace_original: bool | None = None,
                       where: Where | None = None) -> None:
        """Answer through `response_url` (works without the bot in the channel), within its 5 uses in 30 minutes
        (Slack drops any more silently). What does not fit goes on through the Web API `where` the bot may post
        (chat.postEphemeral, or chat.postMessage for the channel); where it may not, the last use says what is
        missing and how to get it."""
        response_type = "ephemeral" if reply.visibility is Visibility.EPHEMERAL else "in_channel"
        extra: dict[str, Any] = {} if replace_original is None else {"replace_original": replace_original}
        chunks = _text_chunks(reply)
        left = self._uses.left(response_url)
        fits = len(chunks) if len(chunks) <= left else max(0, left - 1)  # one use kept for saying what is missing
        for chunk in chunks[:fits]:
            if not await self._send(response_url, text=chunk.text, blocks=chunk.blocks, response_type=response_type,
                                    **extra):
                return
        rest = chunks[fits:]
        if not rest:
            return
        refused = "not_in_channel" if where is None else await self._post_rest(where, reply, rest)
        if refused is None:
            return
        if left == 0:
            log.warning("response_url used up: %d part(s) of an answer not shown", len(rest))
            return
        how = INVITE_ME if cannot_post_here(refused) else ASK_AGAIN
        note = LEFT_OUT.format(count=len(rest), s="s" if len(rest) > 1 else "", how=how)
        (said,) = _text_chunks(Reply(Message(text=note), Visibility.EPHEMERAL))
        await self._send(response_url, text=said.text, blocks=said.blocks, response_type="ephemeral",
                         replace_original=False)

    async def _post_rest(self, where: Where, reply: Reply, chunks: list[SlackMessage]) -> str | None:
        """The parts of an answer a response_url could not take, through the Web API (in order): None when all
        went, else Slack's error code ("" when it gave none). A channel-visible list part is recorded like any
        other, so "summarize 12" works in its thread."""
        client, ctx = where
        try:
            for chunk in chunks:
                if reply.visibility is Visibility.EPHEMERAL:
                    await client.chat_postEphemeral(channel=ctx.channel, user=ctx.user, text=chunk.text,
                                                    blocks=chunk.blocks)
                    continue
                response = await client.chat_postMessage(channel=ctx.channel, text=chunk.text, blocks=chunk.blocks,
                                                         unfurl_links=False, unfurl_media=False)
                if response.get("ts") and reply.paper_ids:
                    await self.core.record_posted(ctx, reply, str(response["ts"]), thread_ref=None, kind="list-part")
        except (SlackApiError, *UNREACHABLE) as exc:
            log.info("the rest of an answer cannot go to %s either (%s)", ctx.channel, failure_line(exc))
            return error_code(exc) if isinstance(exc, SlackApiError) else ""
        return None

    async def _replace(self, response_url: str, blocks: list[Block], text: str) -> None:
        """Replace the message a click came from, through the click's `response_url` (an ephemeral message, or
        one sent through a `response_url`, which `chat.update` cannot edit). Only the counts would change: not
        worth a use the response_url no longer has (Slack would drop it anyway)."""
        if self._uses.left(response_url) == 0:
            log.info("response_url used up; the clicked message keeps its old counts")
            return
        await self._send(response_url, text=text, blocks=blocks, replace_original=True)

    async def _send(self, response_url: str, **fields: Any) -> bool:
        """One message to a `response_url`; whether Slack took it."""
        if not response_url:
            log.warning("no response_url to answer on")
            return False
        self._uses.spend(response_url)
        client = AsyncWebhookClient(response_url, retry_handlers=retry_handlers(self._webhook_sleep))
        try:
            result = await client.send(**fields)
        except UNREACHABLE as exc:
            log.warning("response_url unreachable: %s", type(exc).__name__)
            return False
        if result.status_code != 200:
            log.warning("response_url answered %s", result.status_code)
            return False
        return True

    # -- threads -------------------------------------------------------------------------------------------

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        """A reply in a thread. Edits, joins, bot posts and top-level chatter are not for us; a message that
        mentions the bot arrives as `app_mention` too and is answered there, once. A reply also sent to the
        channel (`thread_broadcast`) or with a file attached (`file_share`) is still a person's reply."""
        if event.get("subtype") not in _PERSON_SUBTYPES or event.get("bot_id"):
            return
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts"):
            return
        text = str(event.get("text") or "")
        direct = event.get("channel_type") == "im"  # message.im: a thread under the person's DM digest
        if context.bot_user_id and f"<@{context.bot_user_id}" in text and not direct:
            return  # answered as app_mention (never sent for DMs)
        ctx = self._event_context(event, body, context, thread_ts=str(thread_ts), mentioned=False, direct=direct)
        reply = await self.core.handle_thread_message(ctx, slack_text(text))
        if reply is not None and context.client is not None:
            await self._post(context.client, ctx, reply, thread_ts=str(thread_ts))

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        thread_ts = event.get("thread_ts")
        ctx = self._event_context(event, body, context, thread_ts=str(thread_ts) if thread_ts else None,
                                  mentioned=True)
        text = slack_text(str(event.get("text") or ""))
        reply = await self.core.handle_thread_message(ctx, text) if thread_ts else None
        if reply is None:
            reply = Reply(Message(text=MENTION_HINT), Visibility.EPHEMERAL, in_thread=True)
        if context.client is not None:
            await self._post(context.client, ctx, reply, thread_ts=str(thread_ts or event.get("ts") or "") or None)

    def _event_context(self, event: Mapping[str, Any], body: Mapping[str, Any], context: AsyncBoltContext, *,
                       thread_ts: str | None, mentioned: bool, direct: bool = False) -> ChatContext:
        team = body.get("team_id") or event.get("team") or context.team_id or ""
        return ChatContext(PLATFORM, str(team), str(event.get("channel") or ""), str(event.get("user") or ""),
                           thread_ref=thread_ts, mentioned=mentioned, direct=direct)

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
        fresh = [await self.deduper.first_time(key) for key in _click_keys(body, action, str(channel))]
        if not all(fresh):
            log.info("the same button clicked again at once; answered once")
            return
        team = (body.get("team") or {}).get("id") or context.team_id or ""
        thread_ts = message.get("thread_ts") or message.get("ts") or container.get("message_ts")
        ctx = ChatContext(PLATFORM, str(team), str(channel), str((body.get("user") or {}).get("id") or ""),
                          thread_ref=str(thread_ts) if thread_ts else None)
        reply = await self.core.handle_action(ctx, kind, paper_ref)
        privately = Reply(reply.message, Visibility.EPHEMERAL)
        response_url = str(body.get("response_url") or "")
        where = (context.client, ctx) if context.client is not None else None
        if container.get("is_ephemeral") or not thread_ts or context.client is None:
            # An ephemeral message has no thread of its own: answer the clicker privately.
            await self._respond(response_url, privately, replace_original=False, where=where)
            return
        try:
            await self._post(context.client, ctx, reply, thread_ts=str(thread_ts))
        except SlackApiError as exc:
            if not cannot_post_here(error_code(exc)):
                raise
            # A list answered through response_url sits in a channel the bot is not in: the click still gets
            # its answer, privately.
            log.info("cannot post in %s (%s); answering the click privately", ctx.channel, error_code(exc))
            await self._respond(response_url, privately, replace_original=False, where=where)

    async def _on_judge(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any],
                        context: AsyncBoltContext) -> None:
        """👍 Relevant / 👎 Not for us (see slack_feedback): the message shows the counts, the clicker a note. A
        double click is two block_actions; the second would withdraw the first, so it is dropped as a repeat."""
        action = (body.get("actions") or [{}])[0]
        keys = _click_keys(body, action, click_context(body, context, PLATFORM).channel, JUDGE_CLICK_WINDOW)
        if not all([await self.deduper.first_time(key) for key in keys]):
            await ack()
            log.info("the same judging button clicked again at once; counted once")
            return

        async def respond(url: str, reply: Reply) -> None:
            await self._respond(url, reply, replace_original=False, where=_asker(context.client, body))

        await on_judge(self.core, respond, self._replace, ack, body, context, PLATFORM)

    async def _on_start_topic(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any],
                              context: AsyncBoltContext) -> None:
        async def respond(url: str, reply: Reply) -> None:
            await self._respond(url, reply, replace_original=False, where=_asker(context.client, body))

        await on_start_topic(self.core, respond, ack, body, context, PLATFORM)

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


