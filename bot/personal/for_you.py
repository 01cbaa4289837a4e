"""The "for you" part of `/papers today`: the day's papers that match the asker's own topics and are not in
the channel's list already, each with its why — shown only to them."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bot.commands.context import ChatContext
from bot.commands.paper_items import items_with_tldrs
from bot.commands.services import CoreServices
from bot.digests.digest_composer import rank_for_topics
from bot.feedback import feedback_commands, feedback_service
from bot.messages import Message
from storage.models import Paper
from storage.subscription_store import list_topics

FOR_YOU_LIMIT = 10


async def for_you(services: CoreServices, ctx: ChatContext, papers: Sequence[Paper],
                  shown: Collection[int]) -> Message | None:
    """None when the asker follows no topics of their own (nothing personal to add)."""
    async with services.db.session() as session:
        topics = await list_topics(session, ctx.personal_scope)
        match = await feedback_service.day_match_for(session, services.matcher, ctx.personal_scope, topics)
    if not topics:
        return None
    ranked = [(item, topic) for item, topic in rank_for_topics(services.matcher, topics, papers, match=match)
              if item.paper.id not in shown]
    context = ["Only you see this. Your topics: " + ", ".join(topics)]
    if not ranked:
        return Message(header="For you", text="Nothing beyond the list above matches your topics today.",
                       context=context)
    chosen = ranked[:FOR_YOU_LIMIT]
    items = await items_with_tldrs(services.summaries, [item.paper for item, _ in chosen],
                                   [f"{topic}: {item.result.why()}" for item, topic in chosen])
    items = feedback_commands.personal_items(items, ctx.workspace)  # its 👍/👎 teach the person's own topics
    if len(ranked) > len(chosen):
        context.append(f"{len(ranked) - len(chosen)} more match your topics.")
    return Message(header="For you", items=items, context=context)
