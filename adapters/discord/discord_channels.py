"""Whether the bot can post a digest where someone asks for one, told when it is asked, not at digest time.

A channel-wide digest (set with `/digest`, or made by a channel's first topic) is posted later, by the scheduler,
where no one is watching: a digest Discord refuses then fails for good, after the user was told it is set.
Two things make it fail, and both are known when the request comes in:

- The place: a post in a forum (or media) channel is a thread whose parent takes no messages of its own, so the
  digest's destination (a thread's parent) cannot be posted in (400, "Cannot send messages in a non-text
  channel"). Such requests are refused; a post is fine for everything that answers at once (`/papers today`).
- The bot's permissions there, which Discord sends with every interaction (`app_permissions`): without View
  Channel, Send Messages or Embed Links (a digest is embeds) nothing arrives, so the request is refused; without
  Create Public Threads or Send Messages in Threads the digest still comes, without a thread to answer in, so
  the request goes ahead with a note to the asker.

When Discord cannot say (a parent channel that is neither cached nor fetchable), the request goes ahead: the
digest's own failure reports it then.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
import discord

log = logging.getLogger(__name__)

# What a digest cannot do without (Discord's names, as server settings show them)
NEEDED = (("view_channel", "View Channel"), ("send_messages", "Send Messages"), ("embed_links", "Embed Links"))
# What only its thread needs: the digest still arrives, and replies to it still reach the bot
FOR_THREADS = (("create_public_threads", "Create Public Threads"),
               ("send_messages_in_threads", "Send Messages in Threads"))
# What finding its own digest again after a restart needs (adapters/discord/discord_adapter.py, the history search)
FOR_RECOVERY = (("read_message_history", "Read Message History"),)
IN_A_FORUM = ("A forum gets no digest: Discord takes messages only inside its posts, not in the forum itself. "
              "Set up the channel's digest and topics in a text channel; for your own digest by direct message, "
              "add personal: True.")
RIDER_IN_A_FORUM = ("A forum gets no digest (Discord takes messages only inside its posts), so there are no "
                    "follow-ups in its thread and no mentions on its items to turn on here. Use them in a text "
                    "channel with a digest.")
# How long the check may wait for Discord to say what a post's parent is, when the cache does not know: it runs
# before the interaction's first response, which Discord wants within 3 s. Past it, the request goes ahead.
PARENT_LOOKUP_SECONDS = 1.5


@dataclass(frozen=True)
class Placement:
    """What to tell the asker: `refusal` (nothing changes), else an optional `note` after the change."""

    refusal: str | None = None
    note: str | None = None


def _where(channel: object) -> str:
    return "this thread's channel" if isinstance(channel, discord.Thread) else "this channel"


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def missing(permissions: discord.Permissions, wanted: tuple[tuple[str, str], ...]) -> list[str]:
    """The names of the `wanted` permissions the bot lacks (an administrator lacks none)."""
    if permissions.administrator:
        return []
    return [name for flag, name in wanted if not getattr(permissions, flag)]


async def in_forum(client: discord.Client, channel: object, *, within: float | None = None) -> bool | None:
    """Whether `channel` is a forum (or media) channel or a post in one; None when that cannot be told. A post's
    parent may be missing from the cache (a server not yet loaded): it is then asked for (GET /channels/{id}),
    for at most `within` seconds when given."""
    if isinstance(channel, discord.ForumChannel):  # discord.py's class for media channels too
        return True
    if not isinstance(channel, discord.Thread) or not channel.parent_id:
        return False
    try:
        parent = await asyncio.wait_for(parent_of(client, channel), within)
    except TimeoutError:
        log.info("Discord did not say in time what channel %s is; going ahead", channel.parent_id)
        return None
    return None if parent is None else isinstance(parent, discord.ForumChannel)


async def parent_of(client: discord.Client, thread: discord.Thread) -> object | None:
    """A thread's parent channel: cached, or else asked of Discord (None when it cannot be had). discord.py's
    `Thread.parent` is only the cache's, and `Thread.permissions_for` fails without it."""
    if thread.parent is not None:
        return thread.parent
    try:
        return await client.fetch_channel(thread.parent_id)
    # RateLimited: a 429 longer than the client waits (discord_adapter.MAX_RATE_LIMIT_WAIT); not an HTTPException
    except (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, TimeoutError) as exc:
        log.info("cannot tell what channel %s is (%s)", thread.parent_id, exc)
        return None


async def digest_placement(client: discord.Client, channel: object,
                           permissions: discord.Permissions | None, *, within: float | None = None) -> Placement:
    """Whether a channel digest asked for in `channel` can be posted, with the bot's `permissions` there (those
    of the interaction; None when unknown: only the place is checked). `within`: see `in_forum`."""
    if await in_forum(client, channel, within=within):
        return Placement(refusal=IN_A_FORUM)
    if permissions is None:
        return Placement()
    where = _where(channel)
    if lacking := missing(permissions, NEEDED):
        return Placement(refusal=f"I can't post in {where}: {_missing_text(lacking)} there, so no digest could "
                                 f"arrive. Allow {_them(lacking)} for Paperboy in the channel's settings (Edit "
                                 "Channel → Permissions), then try again.")
    if lacking := missing(permissions, FOR_THREADS):
        return Placement(note=f"Note: {_missing_text(lacking)} in {where}, so I can't open or answer in the "
                              f"digest's thread; replies to the digest message itself still reach me. Allow "
                              f"{_them(lacking)} for Paperboy in the channel's settings to fix that.")
    if lacking := missing(permissions, FOR_RECOVERY):
        # Without it Discord answers the history with no messages, not an error: after a restart in the middle of
        # a digest the bot would find no trace of what it had posted, and post it again.
        return Placement(note=f"Note: {_missing_text(lacking)} in {where}, so if I am restarted while posting a "
                              "digest I can't see what was already posted and may post it twice. Allow it for "
                              "Paperboy in the channel's settings to fix that.")
    return Placement()


def _missing_text(lacking: list[str]) -> str:
    return f"I'm missing the {_listed(lacking)} permission{'s' if len(lacking) > 1 else ''}"


def _them(lacking: list[str]) -> str:
    return "it" if len(lacking) == 1 else "them"
