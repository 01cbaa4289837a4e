"""`/papers digest --me …` (a person's own digest by direct message) and `/papers mention me on|off`.

A personal digest is a destination of its own (`platform:workspace:@user`, see `bot.destination.personal_key`)
with its own time and time zone, so the digest runner, its delivery claims, catch-up and backoff serve it
exactly as they serve channels.
"""

from __future__ import annotations

from bot.commands.command_hints import command_hint
from bot.commands.context import ChatContext
from bot.commands.digest_commands import days_label, schedule_of, set_schedule
from bot.commands.services import CoreServices
from bot.destination import personal_key
from bot.digests.digest_composer import plan_digest, render_digest
from bot.errors import UsageError
from bot.feedback import feedback_commands
from bot.messages import Message, Reply, Visibility
from bot.personal import routing
from bot.personal.routing import no_personal_topics
from storage.delivery_store import release_held
from storage.destination_store import get_destination, touch
from storage.paper_store import latest_day
from storage.personal_store import ensure_personal_destination, mention_enabled, set_mention
from storage.subscription_store import list_topics

PERSONAL_FLAGS = ("--me", "-m")


def usage(platform: str) -> str:
    return "Usage: " + " · ".join(command_hint(platform, "papers", "digest", value=v, personal=True)
                                  for v in ("HH:MM [TIMEZONE] [DAYS]", "on", "off", "preview"))


def mention_usage(platform: str) -> str:
    return "Usage: " + " · ".join(command_hint(platform, "papers", "mention", value=v) for v in ("me on", "me off"))


def is_personal(args: str) -> bool:
    return args.split(" ", 1)[0] in PERSONAL_FLAGS


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
        turn_on = command_hint(ctx.platform, "papers", "digest", value="HH:MM [TIMEZONE]", personal=True)
        return _private(f"Your personal digest is off. Turn it on with {turn_on}.")
    if len(words) == 1 and words[0].lower() == "preview":
        return await _preview(services, ctx)
    at, days, timezone = schedule_of(words, usage(ctx.platform), ctx.platform, personal=True)
    async with services.db.session() as session:
        destination = await ensure_personal_destination(session, ctx.platform, ctx.workspace, ctx.user)
        zone, days = set_schedule(destination, at, days, timezone, services.default_timezone)
        await release_held(session, destination.key)
        at = destination.digest_time
        topics = await list_topics(session, scope)
    if not topics:  # warned at once: no DM comes until there is something of theirs to send
        return _private(f"Your personal digest is set for {at} {zone} ({days_label(days)}), but you follow no topics "
                        "of your own, so no direct message will come until you do: "
                        f"{command_hint(ctx.platform, 'subscribe', value='TOPIC', personal=True)}.")
    text = (f"Your personal digest comes by direct message at {at} {zone} ({days_label(days)}), with new papers "
            "for your own topics (never one it sent you before); on a day with nothing new it sends nothing.")
    return Reply(Message(text=text, context=["Your topics: " + ", ".join(topics)]), Visibility.EPHEMERAL)


def _private(text: str) -> Reply:
    return Reply(Message(text=text), Visibility.EPHEMERAL)


async def _describe(services: CoreServices, ctx: ChatContext) -> Reply:
    async with services.db.session() as session:
        destination = await get_destination(session, personal_key(ctx.platform, ctx.workspace, ctx.user))
        topics = await list_topics(session, ctx.personal_scope)
    if destination is None or not destination.digest_enabled:
        return _private(f"You get no personal digest. {usage(ctx.platform)}")
    zone = destination.timezone or services.default_timezone
    # "on" alone would promise messages the runner never sends: a person without topics of their own gets none
    waiting = "" if topics else (" No message comes until you follow a topic of your own: "
                                 f"{command_hint(ctx.platform, 'subscribe', value='TOPIC', personal=True)}.")
    return _private(f"Your personal digest is on: {destination.digest_time} {zone} "
                    f"({days_label(destination.digest_days)}), by direct message.{waiting}")


async def _preview(services: CoreServices, ctx: ChatContext) -> Reply:
    async with services.db.session() as session:
        destination = await get_destination(session, personal_key(ctx.platform, ctx.workspace, ctx.user))
        zone = (destination.timezone if destination is not None else None) or services.default_timezone
        topics = await list_topics(session, ctx.personal_scope)
        if not topics:
            return _private(no_personal_topics(ctx.platform))
        day = await latest_day(session, services.today(zone))
        if day is None:
            return _private("No papers stored yet, so there is nothing to preview.")
        plan = await plan_digest(session, services.matcher, ctx.personal_scope,
                                 personal_key(ctx.platform, ctx.workspace, ctx.user), day,
                                 max_items=services.digest_max_items)
    message = await render_digest(plan, services.summaries, platform=ctx.platform,
                                  nothing_new="No new papers for your topics.", for_channel=False)
    message.context = routing.personal_context(ctx.platform, message.context)  # as the DM will read
    # shown in the channel, but the person's list: its 👍/👎 teach their own topics, never the channel's
    message.items = feedback_commands.personal_items(message.items, ctx.workspace)
    if destination is not None and destination.digest_enabled:
        message.context.append("Preview: only you see this; your digest comes by direct message at "
                               f"{destination.digest_time} {zone}.")
    else:
        turn_on = command_hint(ctx.platform, "papers", "digest", value="HH:MM [TIMEZONE]", personal=True)
        message.context.append(f"Preview: only you see this. Your personal digest is off: {turn_on} sends it "
                               "to you by direct message.")
    return Reply(message, Visibility.EPHEMERAL)


async def mention(services: CoreServices, ctx: ChatContext, args: str) -> Reply:
    words = args.lower().split()
    if words and words[0] == "me":
        words = words[1:]
    if not words:
        async with services.db.session() as session:
            on = await mention_enabled(session, ctx.destination, ctx.user)
            topics = await list_topics(session, ctx.personal_scope)
        state = "on: digest items here that match your own topics name you" if on else "off"
        if on and not topics:
            state = f"on, but you follow no topics of your own, so none will ({_follow(ctx.platform)})"
        return _private(f"Mentions for you in this channel are {state}. {mention_usage(ctx.platform)}")
    if len(words) != 1 or words[0] not in ("on", "off"):
        raise UsageError(mention_usage(ctx.platform))
    on = words[0] == "on"
    _ = ctx.personal_scope  # refuses an unusable user id before anything is stored
    async with services.db.session() as session:
        await set_mention(session, ctx.destination, ctx.platform, ctx.workspace, ctx.user, on)
        topics = await list_topics(session, ctx.personal_scope)
        channel = await get_destination(session, ctx.destination)
    if not on:
        return _private("Mentions for you in this channel are now off: you will not be mentioned on its digests.")
    if not topics:  # nothing of theirs can match yet, so no mention will come
        return _private("Mentions for you here are on, but you follow no topics of your own yet: add one with "
                        f"{command_hint(ctx.platform, 'subscribe', value='TOPIC', personal=True)}.")
    if channel is None or not channel.digest_enabled:  # mentions ride on the channel's digest: none, no mention
        start = command_hint(ctx.platform, "papers", "digest", value="on" if channel is not None else "HH:MM")
        return Reply(Message(text="Mentions for you here are on, but this channel gets no daily digest, so none "
                                  f"will come until it does ({start}).",
                             context=["Your topics: " + ", ".join(topics)]), Visibility.EPHEMERAL)
    return Reply(Message(text="Mentions for you in this channel are now on: its digest will mention you on papers "
                              "that match your own topics.",
                         context=["Your topics: " + ", ".join(topics)]), Visibility.EPHEMERAL)


async def status_lines(services: CoreServices, ctx: ChatContext) -> list[str]:
    """For /subscriptions: the person's DM digest and whether this channel mentions them."""
    async with services.db.session() as session:
        destination = await get_destination(session, personal_key(ctx.platform, ctx.workspace, ctx.user))
        mentioned = await mention_enabled(session, ctx.destination, ctx.user)
        topics = await list_topics(session, ctx.personal_scope)
    # on, with no topics of one's own (all unsubscribed): nothing comes, and the listing must not suggest it does
    idle = "" if topics else " — nothing comes until you follow a topic of your own"
    if destination is not None and destination.digest_enabled:
        zone = destination.timezone or services.default_timezone
        days = days_label(destination.digest_days)
        digest = f"Your digest by direct message: {destination.digest_time} {zone} ({days}){idle}"
    else:
        turn_on = command_hint(ctx.platform, "papers", "digest", value="HH:MM", personal=True)
        digest = f"Your digest by direct message: off ({turn_on})"
    mention_on = command_hint(ctx.platform, "papers", "mention", value="me on")
    mentions = ("on" + (" — none until you follow a topic of your own" if not topics else "")) if mentioned \
        else f"off ({mention_on})"
    return [digest, "Mentions for you here: " + mentions]


def _follow(platform: str) -> str:
    return command_hint(platform, "subscribe", value="TOPIC", personal=True)
