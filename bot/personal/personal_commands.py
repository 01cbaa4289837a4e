"""`/papers digest --me …` (a person's own digest by direct message) and `/papers mention me on|off`.

A personal digest is a destination of its own (`platform:workspace:@user`, see `bot.destination.personal_key`)
with its own time and time zone, so the digest runner, its delivery claims, catch-up and backoff serve it
exactly as they serve channels.
"""

from __future__ import annotations

import re

from bot.clock import load_timezone
from bot.commands.command_input import parse_time
from bot.commands.context import ChatContext
from bot.commands.services import CoreServices
from bot.destination import personal_key
from bot.digests.digest_composer import plan_digest, render_digest
from bot.digests.schedule import parse_days
from bot.errors import UsageError
from bot.messages import Message, Reply, Visibility
from bot.personal.routing import NO_PERSONAL_TOPICS
from storage.destination_store import get_destination, touch
from storage.paper_store import latest_day
from storage.personal_store import ensure_personal_destination, mention_enabled, set_mention
from storage.subscription_store import list_topics

PERSONAL_FLAGS = ("--me", "-m")
USAGE = ("Usage: /papers digest --me HH:MM [TIMEZONE] [DAYS] · /papers digest --me off · "
         "/papers digest --me preview")
MENTION_USAGE = "Usage: /papers mention me on · /papers mention me off"
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def is_personal(args: str) -> bool:
    return args.split(" ", 1)[0] in PERSONAL_FLAGS


def _days(spec: str) -> str:
    return {"mon-fri": "weekdays", "mon-sun": "every day"}.get(spec, spec)


async def personal_digest(services: CoreServices, ctx: ChatContext, args: str) -> Reply:
    words = args.split()[1:]  # after --me
    scope = ctx.personal_scope  # refuses an unusable user id before anything is stored
    if not words:
        return await _describe(services, ctx)
    if len(words) == 1 and words[0].lower() == "off":
        async with services.db.session() as session:
            destination = await get_destination(session, personal_key(ctx.platform, ctx.workspace, ctx.user))
            if destination is not None:
                destination.digest_enabled = False
                touch(destination)
        return _private("Your personal digest is off. Turn it on with /papers digest --me HH:MM [TIMEZONE].")
    if len(words) == 1 and words[0].lower() == "preview":
        return await _preview(services, ctx)
    if len(words) > 3:
        raise UsageError(USAGE)
    at = parse_time(words[0])
    timezone = None
    days = None
    for word in words[1:]:
        if days is None and re.fullmatch(r"[a-zA-Z,\-]+", word) and word[:3].lower() in _DAY_NAMES:
            parse_days(word)
            days = word.lower()
        elif timezone is None:
            timezone = str(load_timezone(word))
        else:
            raise UsageError(USAGE)
    async with services.db.session() as session:
        destination = await ensure_personal_destination(session, ctx.platform, ctx.workspace, ctx.user)
        destination.digest_time = at
        destination.digest_enabled = True
        if timezone:
            destination.timezone = timezone
        if days:
            destination.digest_days = days
        touch(destination)
        zone = destination.timezone or services.default_timezone
        days = destination.digest_days
        topics = await list_topics(session, scope)
    text = (f"Your personal digest comes by direct message at {at} {zone} ({_days(days)}), with new papers "
            "for your own topics (never one it sent you before).")
    note = ("Your topics: " + ", ".join(topics)) if topics else NO_PERSONAL_TOPICS
    return Reply(Message(text=text, context=[note]), Visibility.EPHEMERAL)


def _private(text: str) -> Reply:
    return Reply(Message(text=text), Visibility.EPHEMERAL)


async def _describe(services: CoreServices, ctx: ChatContext) -> Reply:
    async with services.db.session() as session:
        destination = await get_destination(session, personal_key(ctx.platform, ctx.workspace, ctx.user))
    if destination is None or not destination.digest_enabled:
        return _private(f"You get no personal digest. {USAGE}")
    zone = destination.timezone or services.default_timezone
    return _private(f"Your personal digest is on: {destination.digest_time} {zone} "
                    f"({_days(destination.digest_days)}), by direct message.")


async def _preview(services: CoreServices, ctx: ChatContext) -> Reply:
    async with services.db.session() as session:
        destination = await get_destination(session, personal_key(ctx.platform, ctx.workspace, ctx.user))
        zone = (destination.timezone if destination is not None else None) or services.default_timezone
        topics = await list_topics(session, ctx.personal_scope)
        if not topics:
            return _private(NO_PERSONAL_TOPICS)
        day = await latest_day(session, services.today(zone))
        if day is None:
            return _private("No papers stored yet, so there is nothing to preview.")
        plan = await plan_digest(session, services.matcher, ctx.personal_scope,
                                 personal_key(ctx.platform, ctx.workspace, ctx.user), day,
                                 max_items=services.digest_max_items)
    message = await render_digest(plan, services.summaries, nothing_new="No new papers for your topics.")
    message.context.append("Preview: only you see this; your digest comes by direct message at its time.")
    return Reply(message, Visibility.EPHEMERAL)


async def mention(services: CoreServices, ctx: ChatContext, args: str) -> Reply:
    words = args.lower().split()
    if words and words[0] == "me":
        words = words[1:]
    if not words:
        async with services.db.session() as session:
            on = await mention_enabled(session, ctx.destination, ctx.user)
        state = "on: digest items here that match your own topics name you" if on else "off"
        return _private(f"Mentions for you in this channel are {state}. {MENTION_USAGE}")
    if len(words) != 1 or words[0] not in ("on", "off"):
        raise UsageError(MENTION_USAGE)
    on = words[0] == "on"
    _ = ctx.personal_scope  # refuses an unusable user id before anything is stored
    async with services.db.session() as session:
        await set_mention(session, ctx.destination, ctx.platform, ctx.workspace, ctx.user, on)
        topics = await list_topics(session, ctx.personal_scope)
    if not on:
        return _private("You will not be mentioned on this channel's digests.")
    note = ("Your topics: " + ", ".join(topics)) if topics else NO_PERSONAL_TOPICS
    return Reply(Message(text="This channel's digest will mention you on papers that match your own topics.",
                         context=[note]), Visibility.EPHEMERAL)


async def status_lines(services: CoreServices, ctx: ChatContext) -> list[str]:
    """For /subscriptions: the person's DM digest and whether this channel mentions them."""
    async with services.db.session() as session:
        destination = await get_destination(session, personal_key(ctx.platform, ctx.workspace, ctx.user))
        mentioned = await mention_enabled(session, ctx.destination, ctx.user)
    if destination is not None and destination.digest_enabled:
        zone = destination.timezone or services.default_timezone
        digest = f"Your digest by direct message: {destination.digest_time} {zone} ({_days(destination.digest_days)})"
    else:
        digest = "Your digest by direct message: off (/papers digest --me HH:MM)"
    return [digest, "Mentions for you here: " + ("on" if mentioned else "off (/papers mention me on)")]
