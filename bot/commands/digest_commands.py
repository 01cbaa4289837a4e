"""/papers digest HH:MM [TIMEZONE] | on | off | preview — each channel's own digest time."""

from __future__ import annotations

from bot.clock import new_timezone
from bot.commands.command_hints import command_hint
from bot.commands.command_input import parse_time
from bot.commands.context import ChatContext
from bot.commands.paper_commands import channel_timezone
from bot.commands.services import CoreServices
from bot.digests.digest_composer import plan_digest, render_digest
from bot.digests.schedule import looks_like_days, normal_days, shown_days
from bot.errors import UsageError
from bot.messages import Message, Reply, Visibility
from storage.delivery_store import release_held
from storage.destination_models import Destination
from storage.destination_store import ensure_destination, get_destination, touch
from storage.paper_store import latest_day


def usage(platform: str) -> str:
    """The channel digest's usage line as the asker's platform takes it (`/digest setting:off` on Discord)."""
    return "Usage: " + " · ".join(command_hint(platform, "papers", "digest", value=setting)
                                  for setting in ("HH:MM [TIMEZONE] [DAYS, e.g. mon-fri]", "on", "off", "preview"))


async def digest(services: CoreServices, ctx: ChatContext, args: str) -> Reply:
    words = args.split()
    if not words:
        return await _describe(services, ctx)
    if words[0].lower() == "off" and len(words) == 1:
        async with services.db.session() as session:
            destination = await ensure_destination(session, ctx.platform, ctx.workspace, ctx.channel,
                                                   ctx.channel_name)
            destination.digest_enabled = False
            touch(destination)
        turn_on = command_hint(ctx.platform, "papers", "digest", value="on")
        return Reply(Message(text=f"Daily digest turned off for this channel. Turn it back on with {turn_on}."))
    if words[0].lower() == "preview" and len(words) == 1:
        return await _preview(services, ctx)
    at, days, timezone = schedule_of(words, usage(ctx.platform), ctx.platform)
    async with services.db.session() as session:
        destination = await ensure_destination(session, ctx.platform, ctx.workspace, ctx.channel, ctx.channel_name)
        zone, days = set_schedule(destination, at, days, timezone, services.default_timezone)
        await release_held(session, destination.key)
        at = destination.digest_time
    return Reply(Message(text=f"Daily digest for this channel at {at} {zone} ({days_label(days)})."))


def schedule_of(words: list[str], usage: str, platform: str, *,
                personal: bool = False) -> tuple[str | None, str | None, str | None]:
    """`parse_schedule`, or for a lone "on" nothing to change: the digest comes back at the time and on the days
    it had (or the default time, for one never set)."""
    if len(words) == 1 and words[0].lower() == "on":
        return None, None, None
    return parse_schedule(words, usage, platform, personal=personal)


def parse_schedule(words: list[str], usage: str, platform: str, *,
                   personal: bool = False) -> tuple[str, str | None, str | None]:
    """`HH:MM [DAYS] [TIMEZONE]` (days and zone in either order): (time, days or None, zone or None). The one
    grammar of a digest time, a channel's or a person's; `usage` is the line shown when the words do not fit,
    and a bad time is answered with an example in the `platform`'s spelling of the command."""
    words = _joined_every_day(words)
    if len(words) > 3:
        raise UsageError(usage)
    at = parse_time(words[0], lambda setting: command_hint(platform, "papers", "digest", value=setting,
                                                           personal=personal))
    timezone = None
    days = None
    for word in words[1:]:
        if looks_like_days(word):
            if days is not None:
                raise UsageError(usage)  # "weekdays weekends": which?
            days = normal_days(word)  # a clear error for "mon-funday"
        elif timezone is None:
            timezone = str(new_timezone(word))
        else:
            raise UsageError(usage)
    return at, days, timezone


def _joined_every_day(words: list[str]) -> list[str]:
    """"every day", as the confirmation says it, as one word."""
    joined: list[str] = []
    for word in words:
        if word.lower() == "day" and joined and joined[-1].lower() == "every":
            joined[-1] = "everyday"
        else:
            joined.append(word)
    return joined


def set_schedule(destination: Destination, at: str | None, days: str | None, timezone: str | None,
                 default_timezone: str) -> tuple[str, str]:
    """Turn the destination's digest on at that time (keeping its time, days and zone unless given); returns the
    zone and days it now has, for the confirmation. The caller also releases its failed deliveries
    (`release_held`): setting the digest is how someone says "try again now", after re-inviting the bot."""
    if at:
        destination.digest_time = at
    destination.digest_enabled = True
    if timezone:
        destination.timezone = timezone
    if days:
        destination.digest_days = days
    touch(destination)
    return destination.timezone or default_timezone, destination.digest_days


def days_label(spec: str) -> str:
    """A digest's days as its confirmations say them ("weekdays" for mon-fri), a channel's or a person's."""
    days = shown_days(spec)
    return {"mon-fri": "weekdays", "mon-sun": "every day", "sat-sun": "weekends"}.get(days, days)


async def _describe(services: CoreServices, ctx: ChatContext) -> Reply:
    async with services.db.session() as session:
        destination = await get_destination(session, ctx.destination)
    if destination is None:
        return Reply(Message(text=f"No digest set up here yet. {usage(ctx.platform)}"), Visibility.EPHEMERAL)
    zone = destination.timezone or services.default_timezone
    state = "on" if destination.digest_enabled else "off"
    return Reply(Message(text=f"Daily digest is {state}: {destination.digest_time} {zone} "
                              f"({days_label(destination.digest_days)})."), Visibility.EPHEMERAL)


async def _preview(services: CoreServices, ctx: ChatContext) -> Reply:
    timezone = await channel_timezone(services, ctx)
    async with services.db.session() as session:
        day = await latest_day(session, services.today(timezone))
        if day is None:
            return Reply(Message(text="No papers stored yet, so there is nothing to preview."), Visibility.EPHEMERAL)
        plan = await plan_digest(session, services.matcher, ctx.channel_scope, ctx.destination, day,
                                 max_items=services.digest_max_items)
    message = await render_digest(plan, services.summaries, platform=ctx.platform)
    message.context.append("Preview: only you see this; the real digest posts at the channel's digest time.")
    return Reply(message, Visibility.EPHEMERAL)
