"""/subscribe, /unsubscribe, /subscriptions — with a preview, so a user sees at once what a topic means."""

from __future__ import annotations

from bot.commands.command_hints import command_hint
from bot.commands.context import ChatContext
from bot.commands.services import CoreServices
from bot.messages import Message, Reply, Visibility, plural
from bot.personal.personal_commands import status_lines
from bot.topics.subscriptions import clean_new_topic, clean_topic, subscribe, unsubscribe
from bot.topics.topic_service import match_topic
from storage.destination_store import ensure_destination
from storage.subscription_store import list_topics

PREVIEW_SCAN = 200
PREVIEW_EXAMPLES = 3


async def _preview(services: CoreServices, topic: str) -> list[str]:
    async with services.db.session() as session:
        ranked = await match_topic(session, services.matcher, topic, limit=PREVIEW_SCAN, matched_only=True,
                                   semantic=services.semantic)
    if not ranked:
        return ["No stored paper matches it yet; new papers will be checked every day."]
    count = f"{len(ranked)}+ stored papers" if len(ranked) >= PREVIEW_SCAN else plural(len(ranked), "stored paper")
    lines = [f"It matches {count}" + (":" if len(ranked) == 1 else ", e.g.:")]
    lines += [f"• {r.paper.title} — {r.result.why()}" for r in ranked[:PREVIEW_EXAMPLES]]
    return lines


async def do_subscribe(services: CoreServices, ctx: ChatContext, raw: str, *, personal: bool) -> Reply:
    clean_new_topic(raw)  # refuse bad topics before touching anything
    scope = ctx.personal_scope if personal else ctx.channel_scope
    async with services.db.session() as session:
        if not personal:
            await ensure_destination(session, ctx.platform, ctx.workspace, ctx.channel, ctx.channel_name)
        outcome = await subscribe(session, scope, raw, by=ctx.user)
    where = "your personal list" if personal else "this channel"
    if not outcome.added:
        return Reply(Message(text=f"Already following “{outcome.topic}” in {where}."), Visibility.EPHEMERAL)
    preview = await _preview(services, outcome.topic)
    visibility = Visibility.EPHEMERAL if personal else Visibility.CHANNEL
    return Reply(Message(text=f"Subscribed {where} to “{outcome.topic}”.", body="\n".join(preview)), visibility)


async def do_unsubscribe(services: CoreServices, ctx: ChatContext, raw: str, *, personal: bool) -> Reply:
    scope = ctx.personal_scope if personal else ctx.channel_scope
    async with services.db.session() as session:
        removed = await unsubscribe(session, scope, raw)
        remaining = await list_topics(session, scope)
    where = "your personal list" if personal else "this channel"
    if removed is None:
        shown, _ = clean_topic(raw)
        known = ", ".join(remaining) if remaining else "nothing yet"
        return Reply(Message(text=f"{where.capitalize()} does not follow “{shown}” (it follows: {known})."),
                     Visibility.EPHEMERAL)
    return Reply(Message(text=f"Unsubscribed {where} from “{removed}”."),
                 Visibility.EPHEMERAL if personal else Visibility.CHANNEL)


async def do_list(services: CoreServices, ctx: ChatContext) -> Reply:
    async with services.db.session() as session:
        channel = await list_topics(session, ctx.channel_scope)
        mine = await list_topics(session, ctx.personal_scope)
    follow = command_hint(ctx.platform, "subscribe", value="TOPIC")
    follow_me = command_hint(ctx.platform, "subscribe", value="TOPIC", personal=True)
    lines = [
        "This channel follows: " + (", ".join(channel) if channel else f"nothing yet ({follow})"),
        "You follow: " + (", ".join(mine) if mine else f"nothing yet ({follow_me})"),
        *await status_lines(services, ctx),
    ]
    return Reply(Message(header="Subscriptions", body="\n".join(lines)), Visibility.EPHEMERAL)
