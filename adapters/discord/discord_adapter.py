"""Discord on discord.py: app commands in, embeds out, digest posts that open threads, replies in those threads.

The adapter only translates: an interaction or a message becomes a `ChatContext` plus text for `CommandCore`,
and the core's `Reply` becomes embeds (`discord_renderer`). Three Discord rules shape it:

- An interaction must be answered within 3 s, so every command defers first and answers with follow-ups.
- Nothing the bot sends may ping anyone: every send passes `AllowedMentions.none()` (and the client's default
  is the same), whatever the text contains.
- The message-content intent is privileged; without it the bot still gets the text of messages that mention
  it, which is all thread replies need. With it (`PAPERBOY_DISCORD_MESSAGE_CONTENT=true`), plain thread
  commands ("summarize 3", "more 3", "less 3", "like 3") in a digest thread, or as a reply to one of the bot's
  lists, work without a mention; other messages there stay unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import aiohttp
import discord
from discord import app_commands
from pydantic import SecretStr

from adapters.discord.discord_channels import (
    PARENT_LOOKUP_SECONDS,
    RIDER_IN_A_FORUM,
    Placement,
    digest_placement,
    parent_of,
)
from adapters.discord.discord_commands import app_commands_for
from adapters.discord.discord_feedback import NEEDS_MANAGE_CHANNELS as NEEDS_MANAGE_TO_START
from adapters.discord.discord_feedback import judge_button_class, judge_view, start_button_class
from adapters.discord.discord_interactions import MAX_RATE_LIMIT_WAIT, bound_waits, held_back
from adapters.discord.discord_renderer import (
    batch_mentions,
    listed_papers,
    named_thread,
    render_message,
    thread_name,
    truncate,
    unescape,
)
from bot.commands.command_core import CommandCore, error_reply
from bot.commands.command_table import CommandSpec, posts_here, rides_on_digest
from bot.commands.context import ChatContext
from bot.commands.thread_replies import is_start_request, is_unaddressed_command
from bot.destination import Destination
from bot.digests.poster import SEARCH_MARGIN_SECONDS, DigestTag, PostResult, digest_papers, to_post
from bot.errors import DeliveryError, StartupError
from bot.followups.poster import ThreadTarget
from bot.messages import Message, Reply, Visibility
from bot.personal.routing import from_workspace

log = logging.getLogger(__name__)

PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440
THREAD_ALREADY_CREATED = 160004  # Discord's code: "A thread has already been created for this message"
HISTORY_PAGE_SIZE = 100  # Discord's maximum per request
HISTORY_PAGES = 5  # how far a search for an earlier attempt's digest reads
MAX_CHOICES = 25
HINT = ("I answer in threads under my posts: mention me with “summarize 2”, “tl;dr 3”, or a question "
        "(“2: which dataset?”). For everything else: /papers help.")
GUILD_ONLY = "Paperboy works in server channels, not in direct messages."
RecordParts = Callable[[str, list[str], list[int]], Awaitable[None]]  # the core's `record_digest_parts`
TurnOff = Callable[[str], Awaitable[bool]]  # the core's `turn_off_digest`
NON_TEXT_CHANNEL = 50008  # Discord's error code for a send to a channel that takes no messages (a forum)
# discord.py waits out any 429 by itself, however long Discord says: beyond MAX_RATE_LIMIT_WAIT it raises `RateLimited`
# instead, so a digest fails with when to retry rather than blocking its run (and outliving its delivery's lease) for
# minutes. Answers to interactions get the same bound (discord_interactions).
TOKEN_RECHECK_SECONDS = 3600.0  # a token Discord rejected (401) is tried again after this long
SHORT_HOLD = 5.0  # a global rate limit with at most this left is waited out rather than failed
# What Discord can answer a request with instead of doing it (a refusal, or a 429 longer than we wait).
REFUSED = (discord.HTTPException, discord.RateLimited)
# What a REST call can fail with: Discord's answer, a limit too long to wait, or no answer at all.
FAILURES = (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, OSError, TimeoutError)
NEEDS_MANAGE_CHANNELS = ("Changing this channel's digest or topics needs the Manage Channels permission. "
                         "To follow a topic just for yourself: /subscribe with personal: True.")


@dataclass(frozen=True)
class DiscordOptions:
    """Discord's settings, handed in by the composition root (read from `bot.config.Settings`, like every other
    platform's); secrets stay SecretStr."""

    token: SecretStr | None = None
    application_id: str | None = None
    sharded: bool = False  # AutoShardedClient, from about 1,000 guilds
    message_content: bool = False  # the privileged intent: enable it in the developer portal first
    post_interval: float = 0.25  # seconds between digest messages, across channels
    api_url: str | None = None  # discord.py's REST base (https://discord.com/api/v10) unless set
    gateway_url: str | None = None  # discord.py's gateway (wss://gateway.discord.gg/) unless set


def make_intents(*, message_content: bool = False) -> discord.Intents:
    """Only what the adapter uses: guilds (channels and threads cached), guild messages (mentions) and direct
    messages (replies under a person's DM digest; their content arrives without the privileged intent)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = message_content
    return intents


def make_client(options: DiscordOptions) -> discord.Client:
    """A Client, or an AutoShardedClient when configured; mentions are off by default for every send."""
    cls = discord.AutoShardedClient if options.sharded else discord.Client
    return cls(intents=make_intents(message_content=options.message_content), allowed_mentions=NO_MENTIONS,
               max_ratelimit_timeout=MAX_RATE_LIMIT_WAIT)


def _guild_channel(channel: object, channel_id: int) -> tuple[int, str | None, str | None]:
    """(destination channel id, its name, the thread ref): inside a thread, the destination is its parent."""
    if isinstance(channel, discord.Thread) and channel.parent_id:
        parent = channel.parent
        return channel.parent_id, getattr(parent, "name", None), str(channel.id)
    return channel_id, getattr(channel, "name", None), None


def interaction_context(interaction: discord.Interaction) -> ChatContext | None:
    """Who asked, where; None outside a server (the core's destinations are server channels)."""
    if interaction.guild_id is None or interaction.channel_id is None:
        return None
    channel_id, name, thread_ref = _guild_channel(interaction.channel, interaction.channel_id)
    return ChatContext(PLATFORM, str(interaction.guild_id), str(channel_id), str(interaction.user.id),
                       channel_name=name, thread_ref=thread_ref)


def click_context(interaction: discord.Interaction) -> ChatContext | None:
    """Who clicked a button, where: in a server as `interaction_context`; in a DM (under the person's own digest)
    the DM and the clicked message, with no server (the core finds the digest by the message)."""
    if interaction.guild_id is not None:
        return interaction_context(interaction)
    if interaction.channel_id is None or interaction.message is None:
        return None
    return ChatContext(PLATFORM, "", str(interaction.channel_id), str(interaction.user.id),
                       thread_ref=str(interaction.message.id), direct=True)


async def _may_manage(client: discord.Client, message: discord.Message, channel: object) -> bool:
    """Whether the author may change the channel's topics (Manage Channels there), as `/subscribe` requires.
    `channel`: the message's channel as fetched (an uncached thread comes as a PartialMessageable, which has no
    permissions to ask). A thread's are its parent's, which may have to be fetched too."""
    if not isinstance(message.author, discord.Member):
        return False
    if isinstance(channel, discord.Thread):
        channel = await parent_of(client, channel)
    if not isinstance(channel, discord.abc.GuildChannel):
        return False
    return channel.permissions_for(message.author).manage_channels


class DiscordAdapter:
    """App commands and thread replies for one client. Construct it before the client connects."""

    def __init__(self, core: CommandCore, client: discord.Client, *,
                 tree: app_commands.CommandTree[discord.Client] | None = None,
                 message_content: bool = False) -> None:
        self.core = core
        self.client = client
        self.message_content = message_content
        self.tree: app_commands.CommandTree[discord.Client] = tree or app_commands.CommandTree(client)
        self.tree.error(self._on_tree_error)
        self._install_commands()
        client.event(self.on_message)
        # 👍/👎 under lists: persistent buttons, dispatched by their custom_id even after a restart
        self.start_button = start_button_class(core, click_context)
        self.judge_button = judge_button_class(core, click_context, self.start_button)
        client.add_dynamic_items(self.judge_button, self.start_button)

    # -- app commands ----------------------------------------------------------------------------------------

    def _install_commands(self) -> None:
        """The command groups and commands of `bot.commands.command_table`, as discord.py declares them."""
        for command in app_commands_for(self):
            self.tree.add_command(command)

    async def run_spec(self, interaction: discord.Interaction, entry: CommandSpec, args: str) -> None:
        """A table entry with its argument text: private or public as the table says. A change to the channel
        for everyone (its digest, its topics) needs Manage Channels: Discord hides /digest from members by
        default, but a server may have changed that, and /subscribe is open to all for personal topics."""
        bound_waits(interaction)
        if entry.changes_channel(args) and not interaction.permissions.manage_channels:
            with contextlib.suppress(*REFUSED):
                await interaction.response.send_message(NEEDS_MANAGE_CHANNELS, ephemeral=True,
                                                        allowed_mentions=NO_MENTIONS)
            return
        line = f"{entry.sub} {args}".strip() if entry.sub else args
        await self.run_command(interaction, entry.name, line, ephemeral=entry.private(args),
                               posts_later=posts_here(entry.name, line), needs_digest=rides_on_digest(entry.name, line))

    async def run_command(self, interaction: discord.Interaction, name: str, args: str, *,
                          ephemeral: bool = False, posts_later: bool = False, needs_digest: bool = False) -> None:
        """Defer first (the 3-second rule), then let the core work for as long as it needs (15 minutes).
        `posts_later`: the command sets up a channel digest, which is refused where it could never be posted
        (and noted where it would come without its thread) before the core records anything; `needs_digest`: it
        turns on something riding on the channel's digest, refused where no digest can go (a forum). A refusal
        is the first response, private: deferring first would show the channel a public "thinking…" before it."""
        bound_waits(interaction)
        ctx = interaction_context(interaction)
        placement = Placement()
        if ctx is not None and (posts_later or needs_digest):
            placement = await digest_placement(self.client, interaction.channel,
                                               interaction.app_permissions if posts_later else None,
                                               within=PARENT_LOOKUP_SECONDS)
        if placement.refusal is not None:
            refusal = placement.refusal if posts_later else RIDER_IN_A_FORUM
            with contextlib.suppress(*REFUSED):
                await interaction.response.send_message(refusal, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        try:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        except REFUSED as exc:
            log.warning("could not defer /%s: %s", name, exc)  # too late or the interaction is gone
            return
        if ctx is None:
            reply = error_reply(GUILD_ONLY)
        else:
            reply = await self.core.handle_command(ctx, name, args)
        await self.follow_up(interaction, ctx, reply, deferred_ephemeral=ephemeral)
        if placement.note is not None and reply.visibility is not Visibility.EPHEMERAL:  # the change was made
            with contextlib.suppress(*REFUSED):
                await interaction.followup.send(placement.note, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def follow_up(self, interaction: discord.Interaction, ctx: ChatContext | None, reply: Reply, *,
                        deferred_ephemeral: bool) -> None:
        """Send the reply as follow-ups; a public list is recorded so replies under it can say "summarize 2".
        When Discord refuses them, or holds them back longer than `bound_waits` allows, the person is told so
        instead of watching "thinking…" until the interaction expires."""
        ephemeral = deferred_ephemeral
        thinking = True  # the "thinking…" message is still shown (the first follow-up replaces it)
        if reply.visibility is Visibility.EPHEMERAL and not deferred_ephemeral:
            # The public "thinking…" placeholder would turn the first follow-up public: remove it, then the
            # follow-up is a new message and can be private (an error, "already following").
            with contextlib.suppress(*REFUSED):
                await interaction.delete_original_response()
                thinking = False
            ephemeral = True
        try:
            batches = render_message(reply.message)
            view = None if ephemeral else judge_view(self.judge_button, reply.message.items)
            for index, batch in enumerate(batches):
                extra: dict[str, Any] = {"view": view} if view is not None and index == len(batches) - 1 else {}
                sent = await interaction.followup.send(embeds=batch, ephemeral=ephemeral,
                                                       allowed_mentions=NO_MENTIONS, wait=True, **extra)
                thinking = False
                if ctx is not None and not ephemeral and reply.paper_ids:
                    await self.core.record_posted(ctx, reply, str(sent.id))
            if reply.private is not None and ctx is not None:  # the "for you" part: only the asker sees it
                private = render_message(reply.private)
                mine = judge_view(self.judge_button, reply.private.items)  # judging for the asker's own topics
                for index, batch in enumerate(private):
                    more: dict[str, Any] = {"view": mine} if mine is not None and index == len(private) - 1 else {}
                    await interaction.followup.send(embeds=batch, ephemeral=True, allowed_mentions=NO_MENTIONS,
                                                    **more)
                    thinking = False
        except REFUSED as exc:
            log.warning("follow-up failed: %s", exc)
            await self._say_held_back(interaction, exc, replace_thinking=thinking)

    async def _say_held_back(self, interaction: discord.Interaction, exc: BaseException, *,
                             replace_thinking: bool) -> None:
        """One short line on why the answer is missing: in place of the "thinking…" message while it is shown
        (nothing sent yet, nothing deleted), else as a private follow-up. Given up with a log line when Discord
        refuses that too."""
        try:
            if replace_thinking:
                await interaction.edit_original_response(content=held_back(exc), allowed_mentions=NO_MENTIONS)
            else:
                await interaction.followup.send(held_back(exc), ephemeral=True, allowed_mentions=NO_MENTIONS)
        except REFUSED as again:
            log.warning("could not say why the answer is missing either: %s", again)

    async def topic_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete for /unsubscribe: the topics this channel (or, with personal, the user) follows."""
        bound_waits(interaction)  # discord.py sends the choices from this task once they are returned
        ctx = interaction_context(interaction)
        if ctx is None:
            return []
        personal = bool(getattr(interaction.namespace, "personal", False))
        found = await self.core.topic_choices(ctx, current, personal=personal, limit=MAX_CHOICES)
        return [app_commands.Choice(name=truncate(t, 100), value=t[:100]) for t in found]

    async def _on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """A failure before our callback ran (a bad option): log it, and say something short if we still can."""
        bound_waits(interaction)
        log.error("app command failed: %s", error, exc_info=error)
        with contextlib.suppress(*REFUSED):
            if interaction.response.is_done():
                await interaction.followup.send("Sorry, that did not work.", ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message("Sorry, that did not work.", ephemeral=True,
                                                        allowed_mentions=NO_MENTIONS)

    # -- thread replies --------------------------------------------------------------------------------------

    def _mentions_me(self, message: discord.Message) -> bool:
        me = self.client.user
        return me is not None and any(user.id == me.id for user in message.mentions)

    def _ours(self, channel: object) -> bool:
        """A thread the bot opened (every digest thread is): the only threads it speaks in unasked."""
        me = self.client.user
        return isinstance(channel, discord.Thread) and me is not None and channel.owner_id == me.id

    def _replies_to_me(self, message: discord.Message) -> bool:
        me = self.client.user
        resolved = message.reference.resolved if message.reference else None
        return me is not None and isinstance(resolved, discord.Message) and resolved.author.id == me.id

    async def on_message(self, message: discord.Message) -> None:
        """A mention, or (with the content intent) a thread command such as "summarize 3" or "more 3", in one of
        the bot's own threads or replying to one of its messages. Whether the message is for the bot is settled before
        anything is sent (not even "typing…"): people talk in threads, and other bots own threads too."""
        if message.author.bot:
            return
        if message.guild is None:
            await self._on_direct(message)
            return
        mentioned = self._mentions_me(message)
        if not mentioned and not (self.message_content and is_unaddressed_command(message.content)):
            return  # chatter, or a question not addressed to the bot
        channel: object = message.channel
        if isinstance(channel, discord.PartialMessageable):  # not cached: ask once what it is
            with contextlib.suppress(*REFUSED):
                channel = await self.client.fetch_channel(channel.id)
        channel_id, name, thread_ref = _guild_channel(channel, message.channel.id)
        if thread_ref is not None and not self._ours(channel):
            thread_ref = None  # someone else's thread: answer only a mention, with the hint
        if thread_ref is None and message.reference is not None and self._replies_to_me(message):
            thread_ref = str(message.reference.message_id)  # a reply to one of the bot's messages
        if thread_ref is None and not mentioned:
            return
        ctx = ChatContext(PLATFORM, str(message.guild.id), str(channel_id), str(message.author.id),
                          channel_name=name, thread_ref=thread_ref, mentioned=mentioned)
        answer: Reply | None = None
        starts = thread_ref is not None and is_start_request(message.content)
        if starts and not await _may_manage(self.client, message, channel):
            answer = Reply(Message(text=NEEDS_MANAGE_TO_START))  # "like 3" starts a channel topic: as /subscribe
        elif starts and (refusal := (await digest_placement(self.client, channel, None)).refusal) is not None:
            answer = Reply(Message(text=refusal))  # a channel topic brings a digest, which a forum cannot take
        elif thread_ref is not None:
            async with message.channel.typing():
                answer = await self.core.handle_thread_message(ctx, message.content)
        if answer is None and not mentioned:
            return
        reply = answer or Reply(Message(text=HINT))
        await self.send_in_thread(message, reply, in_thread=isinstance(channel, discord.Thread))

    async def _on_direct(self, message: discord.Message) -> None:
        """A direct message: answered only when it replies to one of the bot's own messages there (a DM digest
        has no thread; a reply to it is how "summarize 2" or a question reaches it). The core answers only under
        the person's own digest; anything else in a DM is left alone."""
        if not isinstance(message.channel, discord.DMChannel) or message.reference is None:
            return
        if not self._replies_to_me(message) or message.reference.message_id is None:
            return
        ctx = ChatContext(PLATFORM, "", str(message.channel.id), str(message.author.id),
                          thread_ref=str(message.reference.message_id), direct=True)
        answer = await self.core.handle_thread_message(ctx, message.content)
        if answer is not None:
            await self.send_in_thread(message, answer, in_thread=False)

    async def send_in_thread(self, message: discord.Message, reply: Reply, *, in_thread: bool) -> None:
        """In a thread: the thread. Elsewhere: a reply to the asker's message (without pinging them)."""
        try:
            for i, batch in enumerate(render_message(reply.message)):
                if i == 0 and not in_thread:
                    await message.reply(embeds=batch, mention_author=False, allowed_mentions=NO_MENTIONS)
                else:
                    await message.channel.send(embeds=batch, allowed_mentions=NO_MENTIONS)
        except REFUSED as exc:
            log.warning("thread reply failed: %s", exc)

    # -- running ---------------------------------------------------------------------------------------------

    def poster(self, *, interval: float = 0.25) -> DiscordPoster:
        return DiscordPoster(self.client, interval=interval, buttons=self.judge_button,
                             record=self.core.record_digest_parts, turn_off=self.core.turn_off_digest)


class Pacer:
    """At most one message per `interval` seconds across all channels: a digest run over thousands of channels
    stays far below Discord's global limit, instead of bursting and leaning on 429 handling."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = asyncio.Lock()
        self._last = float("-inf")

    async def wait(self) -> None:
        if self.interval <= 0:
            return
        async with self._lock:
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last = time.monotonic()


# What to do about Discord's codes for a post the bot may not make (Reference → JSON Error Codes).
HINTS = {
    50001: "the bot cannot see the channel: give it View Channel there, or turn the digest off",
    50013: "give the bot View Channel, Send Messages, Embed Links, Create Public Threads and Send Messages in "
           "Threads there",
    10003: "the channel was deleted: turn its digest off",
    50007: "the person does not take direct messages from the bot",
}


def delivery_error(exc: BaseException) -> DeliveryError:
    """discord.py's failures in the core's terms, in one line with Discord's code: permanent when retrying cannot
    help, retry_after on 429s."""
    if isinstance(exc, discord.RateLimited):
        return DeliveryError(f"Discord rate limit ({exc.retry_after:.0f} s)", retry_after=exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        said = " ".join(exc.text.split())[:200] or exc.response.reason or ""
        what = f"{said} ({exc.status}" + (f", code {exc.code})" if exc.code else ")")
        if exc.status == 429:
            return DeliveryError(f"Discord rate limit: {what}", retry_after=_retry_after(exc))
        if exc.status == 401:
            return DeliveryError(f"Discord rejected the bot token: {what}; reset it on the Developer Portal's Bot "
                                 "page and set PAPERBOY_DISCORD_TOKEN", permanent=True)
        hint = f": {HINTS[exc.code]}" if exc.code in HINTS else ""
        if isinstance(exc, discord.Forbidden | discord.NotFound):
            return DeliveryError(f"Discord refused the post: {what}{hint}", permanent=True)
        # Any other 4xx refuses this request as it is (a forum channel takes no messages, 50035 a form it
        # cannot accept): the same post again fails the same way, every retry until the day is over
        return DeliveryError(f"Discord error: {what}{hint}", permanent=400 <= exc.status < 500)
    return DeliveryError(f"Discord unreachable: {type(exc).__name__}")


def _retry_after(exc: discord.HTTPException) -> float | None:
    headers = getattr(exc.response, "headers", None) or {}
    for value in (headers.get("Retry-After"), headers.get("X-RateLimit-Reset-After")):
        with contextlib.suppress(TypeError, ValueError):
            return float(value)  # type: ignore[arg-type]
    return None


def _global_limit(exc: BaseException) -> bool:
    """Whether a 429 limits every request of the bot (`X-RateLimit-Global`, scope "global"), not one route."""
    if not isinstance(exc, discord.HTTPException) or exc.status != 429:
        return False
    headers = getattr(exc.response, "headers", None) or {}
    return (str(headers.get("X-RateLimit-Global") or "").lower() == "true"
            or str(headers.get("X-RateLimit-Scope") or "").lower() == "global")


def digest_marker(tag: DigestTag, part: int = 0) -> str:
    """The tag as users see it in the small print of a digest's messages: short, and searchable later. The later
    messages of a split digest carry their number, so a takeover finds each of them (replies under any part)."""
    return f"ref {tag.token}" if part == 0 else f"ref {tag.token} part {part + 1}"


def add_marker(embed: discord.Embed, marker: str) -> None:
    """Put a marker line in an embed's footer (after its own small print, if any); the renderer leaves a margin
    below Discord's limits that these few characters fit in."""
    footer = embed.footer.text if embed.footer and embed.footer.text else ""
    embed.set_footer(text=f"{footer}\n{marker}" if footer else marker)


def footer_lines(item: Any) -> Iterator[str]:
    """The lines of a message's embed footers (as the REST API returns it), where the bot's markers are."""
    for embed in (item.get("embeds") or []) if isinstance(item, dict) else []:
        footer = (embed.get("footer") or {}) if isinstance(embed, dict) else {}
        text = footer.get("text") if isinstance(footer, dict) else None
        if isinstance(text, str):
            yield from text.splitlines()


def has_marker(item: Any, marker: str) -> bool:
    """Whether a message has `marker` as a line of one of its embeds' footers."""
    return marker in footer_lines(item)


def mark_digest(embed: discord.Embed, tag: DigestTag, part: int = 0) -> None:
    """The tag goes in the footer of each message's last embed."""
    add_marker(embed, digest_marker(tag, part))


def tagged_part(item: Any, tag: DigestTag) -> int | None:
    """Which message of the tagged digest this one (as the REST API returns it) is, 0 for the first; None when it
    is not one of them."""
    if not isinstance(item, dict):
        return None
    if str(item.get("nonce") or "") == tag.part_nonce(0):
        return 0
    first, later = digest_marker(tag), f"{digest_marker(tag)} part "
    for line in footer_lines(item):
        if line == first:
            return 0
        number = line.removeprefix(later)
        if number != line and number.isdigit() and int(number) > 1:
            return int(number) - 1
    return None


def followup_marker(target: ThreadTarget) -> str:
    """A follow-up's (thread, day) tag in its small print, like a digest's."""
    return f"ref {target.tag}"


class DiscordPoster:
    """`DigestPoster` for Discord: the digest as embed messages, then a thread on the first one.

    `PostResult.thread_ref` is the thread's id, so "@Paperboy summarize 2" inside it resolves to the digest.
    A failure before anything was posted raises `DeliveryError` (retried by the runner); once the first message
    is out, later failures are logged and the post counts as delivered, so a retry never duplicates it.
    The messages after the first of a split digest are recorded with the digest's papers (through `record`, the
    core's `record_digest_parts`): a DM digest has no thread, so a reply to any of its messages must resolve to it,
    and so must a reply to a later part in a channel."""

    def __init__(self, client: discord.Client, *, interval: float = 0.25, buttons: type[Any] | None = None,
                 record: RecordParts | None = None, turn_off: TurnOff | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._pace = Pacer(interval)
        self.buttons = buttons  # the adapter's 👍/👎 DynamicItem class: on the last message of a digest
        self._record = record
        self._turn_off = turn_off
        self._clock = clock
        self._token_rejected: tuple[float, DeliveryError] | None = None  # until when, and why
        self._global_until = float("-inf")

    async def _no_digest_here(self, destination: Destination) -> DeliveryError:
        """A channel digest set in a forum before such requests were refused: Discord takes no message there, so
        it would fail every day until someone turned it off. It is turned off now (once), said in the log and in
        the delivery's failure (`paperboy digest status`)."""
        if self._turn_off is not None:
            await self._turn_off(destination.key)
        what = "turned off" if self._turn_off is not None else "to be turned off with /digest setting:off"
        log.warning("digest for %s: the channel takes no messages (a forum); its digest is %s", destination.key, what)
        return DeliveryError(f"Discord takes no messages in this channel (a forum, or another channel without "
                             f"messages of its own); its digest is {what} (set one in a text channel)", permanent=True)

    async def _may_ask(self) -> None:
        """Before any request: a token Discord rejected within TOKEN_RECHECK_SECONDS, or a global rate limit not
        over yet, fails the post at once (401s and 429s count toward Discord's ban of bots that keep making
        invalid requests); a global limit about to end is waited out."""
        if self._token_rejected is not None and self._token_rejected[0] > self._clock():
            held = self._token_rejected[1]
            # permanent, with when the token is asked again: a reset token may work by then
            raise DeliveryError(str(held), permanent=True, retry_after=self._token_rejected[0] - self._clock())
        left = self._global_until - self._clock()
        if 0 < left <= SHORT_HOLD:
            await asyncio.sleep(left)
        elif left > 0:
            raise DeliveryError(f"Discord global rate limit ({left:.0f} s left)", retry_after=left)

    def _failed(self, exc: BaseException) -> DeliveryError:
        """`delivery_error`, remembering what holds every later request back: a rejected token (said once, as an
        error, never the token) and a global rate limit."""
        error = delivery_error(exc)
        if isinstance(exc, discord.HTTPException) and exc.status == 401:
            if self._token_rejected is None or self._token_rejected[0] <= self._clock():
                log.error("%s; digests and follow-ups wait (asked again in %d minutes)", error,
                          TOKEN_RECHECK_SECONDS // 60)
            self._token_rejected = (self._clock() + TOKEN_RECHECK_SECONDS, error)
            error.retry_after = TOKEN_RECHECK_SECONDS  # the digest is tried again then, not held all day
        elif _global_limit(exc) and error.retry_after:
            self._global_until = max(self._global_until, self._clock() + error.retry_after)
        return error

    async def _direct(self, destination: Destination) -> discord.DMChannel:
        """A personal digest's channel: the person's DM with the bot (POST /users/@me/channels, cached by
        discord.py). A user who left or cannot be reached fails here or on the send, as a `DeliveryError`."""
        assert destination.user is not None
        try:
            return await self.client.create_dm(discord.Object(int(destination.user)))
        except ValueError as exc:
            raise DeliveryError(f"not a Discord user id: {destination.user[:30]!r}", permanent=True) from exc
        except FAILURES as exc:
            raise self._failed(exc) from exc

    def _cached_channel(self, destination: Destination) -> object | None:
        try:
            return self.client.get_channel(int(destination.channel))
        except ValueError:
            return None

    def _channel(self, destination: Destination) -> discord.abc.Messageable:
        channel = self.client.get_channel(int(destination.channel))
        if isinstance(channel, discord.abc.Messageable):
            return channel
        return self.client.get_partial_messageable(int(destination.channel), guild_id=int(destination.workspace))

    def _guild_name(self, destination: Destination) -> str | None:
        """The server a personal digest is for, as the gateway cached it (every server the bot is in is, with the
        guilds intent); None when it is not known."""
        try:
            guild = self.client.get_guild(int(destination.workspace))
        except ValueError:
            return None
        return guild.name if guild is not None else None

    async def post_digest(self, destination: Destination, message: Message, *,
                          tag: DigestTag | None = None, resume: PostResult | None = None) -> PostResult:
        await self._may_ask()
        channel: discord.abc.Messageable = await self._direct(destination) if destination.user else self._channel(
            destination)
        if destination.user:  # one DM for all of a person's servers: each digest says which one it is for
            message = from_workspace(message, self._guild_name(destination))
        elif isinstance(self._cached_channel(destination), discord.ForumChannel):
            raise await self._no_digest_here(destination)
        posting = to_post(message, resume)
        if posting is None and resume is not None:
            return resume  # nothing of it is missing
        assert posting is not None
        batches = render_message(posting[0])
        first_part = posting[1]
        if tag is not None:
            for index, batch in enumerate(batches):
                mark_digest(batch[-1], tag, first_part + index)
        view = judge_view(self.buttons, message.items) if self.buttons is not None else None

        def send_args(index: int, batch: list[discord.Embed]) -> dict[str, Any]:
            extra: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
            if view is not None and index == len(batches) - 1:
                extra["view"] = view
            if users := batch_mentions(batch, message):  # opted-in people: pinged, and no one else
                extra["content"] = "→ " + " ".join(f"<@{u}>" for u in users)
                extra["allowed_mentions"] = discord.AllowedMentions(
                    everyone=False, roles=False, replied_user=False, users=[discord.Object(int(u)) for u in users])
            # A nonce with enforce_nonce (discord.py sets it): Discord itself drops a repeat within minutes.
            if tag is not None:
                extra["nonce"] = tag.part_nonce(first_part + index)
            return extra

        try:
            sent, stopped = await self._send_all(channel, batches, send_args, f"digest for {destination.key}")
        except DeliveryError as exc:
            if not destination.user and getattr(exc.__cause__, "code", None) == NON_TEXT_CHANNEL:
                raise await self._no_digest_here(destination) from exc
            raise
        first = sent[0]
        later = sent if resume is not None else sent[1:]
        if self._record is not None and later:
            try:
                await self._record(destination.key, [str(m.id) for m in later], digest_papers(message, resume))
            except Exception:  # the digest is out: a retry would post it again, so it counts as posted
                log.exception("could not record the later messages of the digest for %s", destination.key)
        # Sent in part: a retry finds what got out and posts the rest (`resume`). When retrying cannot help (the bot
        # lost access meanwhile), what got out counts as the post.
        if stopped is not None and not stopped.permanent:
            raise DeliveryError(f"Discord took {len(sent)} of the digest's {len(batches)} messages: {stopped}",
                                retry_after=stopped.retry_after)
        if resume is not None:
            return PostResult(str(first.id), resume.thread_ref)
        if destination.user:  # a DM has no threads: replies there go to the digest itself
            return PostResult(str(first.id))
        return PostResult(str(first.id), await self._open_thread(first, message, destination))

    async def find_digest(self, destination: Destination, tag: DigestTag) -> PostResult | None:
        """The bot's tagged digest among the channel's messages since the delivery was first claimed, each of its
        messages when it was split (so replies under a later one resolve as after a normal post).

        Discord keeps a nonce only briefly and does not return it with history, so the search looks for the
        tag in the footers (`mark_digest`); a thread the dead attempt did not get to open is opened now."""
        await self._may_ask()
        channel_id = (await self._direct(destination)).id if destination.user else int(destination.channel)
        after = (discord.utils.time_snowflake(tag.since - timedelta(seconds=SEARCH_MARGIN_SECONDS))
                 if tag.since is not None else None)
        parts = await self._parts(channel_id, lambda item: tagged_part(item, tag), after=after)
        if 0 not in parts:
            return None
        item = parts[0]
        later = tuple(str(parts[n]["id"]) for n in sorted(parts) if n > 0)
        listed = {n: url for part in parts.values() for n, url in listed_papers(part.get("embeds")).items()}
        if destination.user:
            return PostResult(str(item["id"]), later_refs=later, listed=listed)
        return PostResult(str(item["id"]), await self._thread_of(item, destination), later_refs=later, listed=listed)

    async def _parts(self, channel_id: int, part_of: Callable[[Any], int | None], *, after: int | None
                     ) -> dict[int, Any]:
        """The bot's messages that `part_of` numbers, reading forward from the message id `after` (at most
        HISTORY_PAGES pages), until the page after the first part's has none of them."""
        found: dict[int, Any] = {}
        cursor = after
        for _ in range(HISTORY_PAGES):
            page = await self._page(channel_id, after=cursor)
            seen_here = False
            for item in page:
                part = part_of(item) if self._mine(item) else None
                if part is not None:
                    found.setdefault(part, item)
                    seen_here = True
            if (0 in found and not seen_here) or len(page) < HISTORY_PAGE_SIZE:
                break
            cursor = max(int(item["id"]) for item in page)
        return found

    def _mine(self, item: Any) -> bool:
        me = self.client.user.id if self.client.user is not None else None
        return me is None or str((item.get("author") or {}).get("id")) == str(me)

    async def _page(self, channel_id: int, *, after: int | None = None, before: int | None = None) -> list[Any]:
        try:
            return list(await self.client.http.logs_from(channel_id, HISTORY_PAGE_SIZE, before=before, after=after))
        except FAILURES as exc:
            raise self._failed(exc) from exc

    async def _search(self, channel_id: int, wanted: Callable[[Any], bool]) -> Any | None:
        """The newest of the bot's own messages in a channel that `wanted` accepts, reading back from the latest
        message at most HISTORY_PAGES pages (a follow-up is near the end of its thread)."""
        cursor = None
        for _ in range(HISTORY_PAGES):
            page = await self._page(channel_id, before=cursor)
            for item in page:
                if self._mine(item) and wanted(item):
                    return item
            if len(page) < HISTORY_PAGE_SIZE:
                break
            cursor = min(int(item["id"]) for item in page)  # the next page: past the oldest message seen
        return None

    async def _thread_of(self, item: Any, destination: Destination) -> str | None:
        thread = item.get("thread")
        if isinstance(thread, dict) and thread.get("id"):
            return str(thread["id"])
        embeds = item.get("embeds") or [{}]
        title = embeds[0].get("title") if isinstance(embeds[0], dict) else None
        name = named_thread(unescape(title) if isinstance(title, str) else None)  # as `thread_name` names it
        try:
            data = await self.client.http.start_thread_with_message(
                int(destination.channel), int(item["id"]), name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES)
            return str(data["id"])
        except FAILURES as exc:
            return self._no_thread(exc, str(item["id"]), destination)

    def _no_thread(self, exc: BaseException, message_id: str, destination: Destination) -> str | None:
        """A thread that could not be started: none (replies to the message still work), unless the message has
        one already (400 160004, its answer to an earlier request lost): a thread started from a message has the
        message's id, so that is the digest's thread."""
        if isinstance(exc, discord.HTTPException) and exc.code == THREAD_ALREADY_CREATED:
            return message_id
        log.warning("no thread for the digest in %s: %s", destination.key, self._failed(exc))
        return None

    async def _open_thread(self, first: discord.Message, message: Message, destination: Destination) -> str | None:
        """The digest's thread; without it (no thread permission) replies to the message still work."""
        name = thread_name(message)
        try:
            if first.guild is not None:
                thread = await first.create_thread(name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES)
                return str(thread.id)
            data = await self.client.http.start_thread_with_message(
                first.channel.id, first.id, name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES)
            return str(data["id"])
        except FAILURES as exc:
            return self._no_thread(exc, str(first.id), destination)

    async def post_followup(self, destination: Destination, target: ThreadTarget, message: Message) -> str:
        """A follow-up in the digest's thread (or, when it opened none, as a reply to the digest), with an
        enforced nonce per (thread, day): Discord itself drops a repeat sent moments later."""
        await self._may_ask()
        reference = None
        if target.thread_ref:
            channel: discord.abc.Messageable = self.client.get_partial_messageable(
                int(target.thread_ref), guild_id=int(destination.workspace))
        else:
            channel = self._channel(destination)
            reference = discord.MessageReference(message_id=int(target.message_ref),
                                                 channel_id=int(destination.channel), fail_if_not_exists=False)
        batches = render_message(message)
        add_marker(batches[0][-1], followup_marker(target))
        sent, _ = await self._send_all(channel, batches, lambda index, _batch: {
            "allowed_mentions": NO_MENTIONS, "nonce": f"{target.tag}{index:02d}"[:25],
            "reference": reference if index == 0 else None}, f"follow-up for {destination.key}")
        return str(sent[0].id)  # a follow-up sent in part counts as made

    async def _send_all(self, channel: discord.abc.Messageable, batches: list[list[discord.Embed]],
                        extra: Callable[[int, list[discord.Embed]], dict[str, Any]],
                        what: str) -> tuple[list[discord.Message], DeliveryError | None]:
        """Each batch as a message, paced; `extra` gives a message's other send arguments. Returns the messages
        sent, in order, and what stopped the others. A failure before the first message is out raises
        `DeliveryError` (retried); after it, it is logged and returned: the caller decides."""
        sent: list[discord.Message] = []
        try:
            for index, batch in enumerate(batches):
                await self._pace.wait()
                sent.append(await channel.send(embeds=batch, **extra(index, batch)))
        except FAILURES as exc:
            error = self._failed(exc)
            if not sent:
                raise error from exc
            log.warning("%s posted in part: %s", what, error)
            return sent, error
        return sent, None

    async def find_followup(self, destination: Destination, target: ThreadTarget) -> str | None:
        """The bot's follow-up carrying `ref <tag>` in its footer among the thread's latest messages."""
        await self._may_ask()
        marker = followup_marker(target)
        item = await self._search(int(target.thread_ref or destination.channel),
                                  lambda item: has_marker(item, marker))
        return str(item["id"]) if item is not None else None


class GatewayLogFilter(logging.Filter):
    """discord.py logs every reconnect attempt with a full traceback (`Attempting a reconnect in …`): one line
    with the cause is what an operator needs, every time the connection drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and "reconnect" in str(record.msg):
            record.msg = f"{record.getMessage()} ({gateway_problem(record.exc_info[1])})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"  # retried: not an error yet
        return True


def gateway_problem(exc: BaseException | None) -> str:
    """Why the gateway connection ended, in one line an operator can act on (never the token)."""
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return ("Discord closed the gateway (4014): the Message Content intent is not enabled for this bot; enable "
                "it on the Developer Portal's Bot page or set PAPERBOY_DISCORD_MESSAGE_CONTENT=false")
    if isinstance(exc, discord.ConnectionClosed):
        if exc.code == 4004:
            return "Discord rejected the bot token at the gateway (4004): reset it on the Developer Portal's Bot page"
        return f"Discord closed the gateway ({exc.code})"
    if isinstance(exc, discord.LoginFailure):
        return ("Discord rejected the bot token (PAPERBOY_DISCORD_TOKEN): copy it again from the Developer "
                "Portal's Bot page")
    if isinstance(exc, discord.HTTPException):
        return f"Discord answered HTTP {exc.status}"
    if exc is None:
        return "Discord gateway stopped"
    if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        return f"Discord is unreachable ({type(exc).__name__})"
    # discord.py 2.7 fails a first connection it cannot open with an AttributeError of its own (no websocket to
    # resume): the reason is still that the gateway was not reached.
    log.debug("gateway failure", exc_info=exc)
    return "Discord's gateway could not be reached"


def point_at(api_url: str | None, gateway_url: str | None) -> None:
    """discord.py's REST base and gateway are class attributes: set them once per process (a proxy, or a fake
    Discord in tests)."""
    if api_url:
        discord.http.Route.BASE = api_url.rstrip("/")
    if gateway_url:
        import yarl

        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


class DiscordConnector:
    """`Connector` for Discord: log in, connect the gateway, and watch the connection.

    `start` returns once the gateway is READY, and raises `StartupError` with one line when Discord rejects the
    token (REST 401 or gateway 4004) or a privileged intent (4014). Once running, discord.py reconnects with
    exponential backoff by itself; `health()` says "reconnecting" meanwhile, and "down" when the gateway gave up
    (a close code that reconnecting cannot fix), while the scheduler and other platforms go on.

    Commands are never synced here (a daily per-guild create limit): `paperboy discord sync` does that."""

    platform = PLATFORM

    def __init__(self, core: CommandCore, options: DiscordOptions, *, client: discord.Client | None = None) -> None:
        self.options = options
        point_at(options.api_url, options.gateway_url)
        self.client = client or make_client(options)
        self.adapter = DiscordAdapter(core, self.client, message_content=options.message_content)
        self.poster = self.adapter.poster(interval=options.post_interval)
        self._task: asyncio.Task[None] | None = None
        self._state = "starting"
        for handler in (self._on_ready, self._on_resumed, self._on_disconnect):
            setattr(self.client, handler.__name__.removeprefix("_"), handler)
        for name in ("discord.client", "discord.shard"):  # AutoShardedClient logs its reconnects in discord.shard
            gateway_log = logging.getLogger(name)
            if not any(isinstance(f, GatewayLogFilter) for f in gateway_log.filters):
                gateway_log.addFilter(GatewayLogFilter())

    async def _on_ready(self) -> None:
        if self._state != "ok":
            log.info("Discord gateway connected")
        self._state = "ok"

    async def _on_resumed(self) -> None:
        await self._on_ready()

    async def _on_disconnect(self) -> None:
        if self._state == "ok":
            log.warning("Discord gateway disconnected; reconnecting")
        if self._state != "down":
            self._state = "reconnecting" if self._state == "ok" else self._state

    async def start(self) -> None:
        token = self.options.token.get_secret_value().strip() if self.options.token is not None else ""
        if not token:
            raise StartupError("no Discord token configured (PAPERBOY_DISCORD_TOKEN)")
        try:
            await self.client.login(token)
        except (discord.HTTPException, discord.LoginFailure, aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise StartupError(gateway_problem(exc)) from None
        self._task = asyncio.create_task(self.client.connect(reconnect=True), name="discord-gateway")
        ready = asyncio.create_task(self.client.wait_until_ready())
        try:
            await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if self._task.done():
            self._state = "down"
            raise StartupError(gateway_problem(None if self._task.cancelled() else self._task.exception()))
        self._state = "ok"
        self._task.add_done_callback(self._gateway_done)

    def _gateway_done(self, task: asyncio.Task[None]) -> None:
        self._state = "down"
        if not task.cancelled() and not self.client.is_closed():
            log.error("Discord is down: %s", gateway_problem(task.exception()))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.remove_done_callback(self._gateway_done)
        with contextlib.suppress(Exception):
            await self.client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def health(self) -> str | None:
        """One word for /healthz: ok, starting, reconnecting or down (the log says why)."""
        if self._task is not None and self._task.done():
            return "down"
        return self._state
