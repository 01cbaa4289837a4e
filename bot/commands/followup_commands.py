"""/papers followups [on|off] — the channel's follow-ups (new versions, code, rising papers) in digest threads."""

from __future__ import annotations

from datetime import date

from bot.commands.command_hints import command_hint
from bot.commands.context import ChatContext
from bot.commands.services import CoreServices
from bot.errors import UsageError
from bot.followups.followup_message import PaperNews, render_followup
from bot.messages import Message, Reply, Visibility
from storage import followup_store

RECENT_DIGESTS = 20  # the papers of the channel's last 20 digests
SHOWN = 10  # papers listed, newest news first


def _hint(platform: str, setting: str = "") -> str:
    return command_hint(platform, "papers", "followups", value=setting)


async def followups(services: CoreServices, ctx: ChatContext, args: str) -> Reply:
    word = args.strip().lower()
    if word in ("on", "off"):
        await followup_store.set_followups(services.db, ctx.destination, word == "on", services.clock())
        if word == "on":
            return Reply(Message(text="Follow-ups are on: when a paper from a digest gets a new version, its code "
                                      "or many more upvotes, I say so once in that digest's thread."))
        return Reply(Message(text="Follow-ups are off for this channel. Turn them back on with "
                                  f"{_hint(ctx.platform, 'on')}."))
    if word:
        raise UsageError(f"Usage: {_hint(ctx.platform, 'on')} · {_hint(ctx.platform, 'off')} · "
                         f"{_hint(ctx.platform)} (the recent ones)")
    return await _recent(services, ctx)


async def _recent(services: CoreServices, ctx: ChatContext) -> Reply:
    async with services.db.session() as session:
        enabled = (await followup_store.followups_enabled(session, [ctx.destination]))[ctx.destination]
        threads = await followup_store.latest_digest_threads(session, ctx.destination, limit=RECENT_DIGESTS)
        ids = {i for t in threads for i in t.paper_ids}
        events = await followup_store.events_for(session, ids, since=date.min)
        told = await followup_store.sent_events(session, ctx.destination)
        papers = await followup_store.papers_by_id(session, {e.paper_id for e in events})
    state = "on" if enabled else "off"
    switch = "off" if enabled else "on"
    context = [f"Follow-ups are {state} here ({_hint(ctx.platform, switch)})."]
    news = []
    for pid in dict.fromkeys(e.paper_id for e in reversed(events)):
        paper = papers.get(pid)
        mine = [(e.kind, dict(e.detail or {}) | ({} if e.id in told else {"pending": True}))
                for e in events if e.paper_id == pid]
        if paper is not None:
            news.append(PaperNews(None, paper.title, paper.arxiv_id, mine))
    if not news:
        return Reply(Message(text="No follow-ups yet for the papers of this channel's recent digests.",
                             context=context), Visibility.EPHEMERAL)
    message = render_followup(news[:SHOWN])
    message.header = "Recent follow-ups in this channel's digest threads"
    if any(detail.get("pending") for n in news for _, detail in n.events):
        context.append("Some are not in their thread yet: they go out in the channel's daytime.")
    message.context = context
    return Reply(message, Visibility.EPHEMERAL)
