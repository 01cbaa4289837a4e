"""/subscribe, /unsubscribe, /subscriptions — with a preview, so a user sees at once what a topic means."""

from __future__ import annotations

from bot.commands.command_hints import command_hint
from bot.commands.context import ChatContext
from bot.commands.services import CoreServices
from bot.messages import Message, Reply, Visibility, plural
from bot.personal.personal_commands import status_lines
from bot.topics.subscriptions import clean_new_topic, clean_topic, split_topics, subscribe, unsubscribe
from bot.topics.topic_service import RankedPaper, match_topic
from storage.destination_store import ensure_destination
from storage.subscription_store import list_topics

PREVIEW_SCAN = 200
PREVIEW_EXAMPLES = 3


async def _matches(services: CoreServices, topic: str) -> list[RankedPaper]:
    """What a new topic matches among stored papers (at most PREVIEW_SCAN), for its confirmation."""
    async with services.db.session() as session:
        return await match_topic(session, services.matcher, topic, limit=PREVIEW_SCAN, matched_only=True,
                                 semantic=services.semantic)


def _count(ranked: list[RankedPaper]) -> str:
    return f"{len(ranked)}+ stored papers" if len(ranked) >= PREVIEW_SCAN else plural(len(ranked), "stored paper")


async def _preview(services: CoreServices, topic: str) -> list[str]:
    ranked = await _matches(services, topic)
    if not ranked:
        return ["No stored paper matches it yet; new papers will be checked every day."]
    lines = [f"It matches {_count(ranked)}" + (":" if len(ranked) == 1 else ", e.g.:")]
    lines += [f"• {r.paper.title} — {r.result.why()}" for r in ranked[:PREVIEW_EXAMPLES]]
    return lines


async def do_subscribe(services: CoreServices, ctx: ChatContext, raw: str, *, personal: bool) -> Reply:
    topics = split_topics(raw)  # refuses bad topics (all of a list) before touching anything
    if len(topics) == 1:
        clean_new_topic(topics[0])
    scope = ctx.personal_scope if personal else ctx.channel_scope
    async with services.db.session() as session:
        if not personal:
            await ensure_destination(session, ctx.platform, ctx.workspace, ctx.channel, ctx.channel_name)
        # one transaction: past the topic limit halfway through a list, none of it is stored
        outcomes = [await subscribe(session, scope, topic, by=ctx.user) for topic in topics]
    where = "your personal list" if personal else "this channel"
    visibility = Visibility.EPHEMERAL if personal else Visibility.CHANNEL
    added = [o.topic for o in outcomes if o.added]
    already = [o.topic for o in outcomes if not o.added]
    if not added:
        return Reply(Message(text=f"Already following {_quoted(already)} in {where}."), Visibility.EPHEMERAL)
    if len(outcomes) == 1:
        preview = await _preview(services, added[0])
        return Reply(Message(text=f"Subscribed {where} to “{added[0]}”.", body="\n".join(preview)), visibility)
    lines = [await _preview_line(services, topic) for topic in added]
    if already:
        lines.append(f"Already followed: {_quoted(already)}.")
    return Reply(Message(text=f"Subscribed {where} to {_quoted(added)}.", body="\n".join(lines)), visibility)


async def _preview_line(services: CoreServices, topic: str) -> str:
    """One topic of a list, in a line: how many stored papers it matches and its best one."""
    ranked = await _matches(services, topic)
    if not ranked:
        return f"• “{topic}”: no stored paper matches it yet"
    return f"• “{topic}”: {_count(ranked)}, e.g. {ranked[0].paper.title}"


def _quoted(topics: list[str]) -> str:
    return ", ".join(f"“{t}”" for t in topics)


async def do_unsubscribe(services: CoreServices, ctx: ChatContext, raw: str, *, personal: bool) -> Reply:
    scope = ctx.personal_scope if personal else ctx.channel_scope
    where = "your personal list" if personal else "this channel"
    visibility = Visibility.EPHEMERAL if personal else Visibility.CHANNEL
    async with services.db.session() as session:
        removed = await unsubscribe(session, scope, raw)  # first as a whole: a topic stored with a comma in it
        listed = [] if removed is not None else split_topics(raw, clean_topic)
        gone: list[str] = []
        missing: list[str] = []
        if len(listed) > 1:
            for topic in listed:
                if (found := await unsubscribe(session, scope, topic)) is not None:
                    gone.append(found)
                else:
                    missing.append(topic)
        remaining = await list_topics(session, scope)
    if removed is not None:
        return Reply(Message(text=f"Unsubscribed {where} from “{removed}”."), visibility)
    if gone:
        text = f"Unsubscribed {where} from {_quoted(gone)}."
        return Reply(Message(text=text + (f" It did not follow {_quoted(missing)}." if missing else "")), visibility)
    shown = _quoted(missing) if missing else f"“{clean_topic(raw)[0]}”"
    known = ", ".join(remaining) if remaining else "nothing yet"
    return Reply(Message(text=f"{where.capitalize()} does not follow {shown} (it follows: {known})."),
                 Visibility.EPHEMERAL)


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
