"""What a channel's digest for a day contains: its matching new papers, ranked, never one posted before.

The same function serves `/papers digest preview`, `paperboy digest run` and the scheduler, so a preview is
exactly what will be posted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands.command_hints import command_hint
from bot.commands.paper_items import items_with_tldrs
from bot.feedback import feedback_service
from bot.messages import Message
from bot.summaries.summary_service import SummaryService
from bot.topics.subscriptions import Scope
from bot.topics.topic_service import RankedPaper, TopicMatcher, match_many, rank_key
from storage.destination_store import posted_paper_ids
from storage.models import Paper
from storage.paper_store import latest_day_among, papers_of_days
from storage.subscription_store import list_topics

# How a channel's topics are matched against a day: plainly (`match_many`), or with what the channel taught
# them (bot.feedback.feedback_ranking.LearnedRanking.match_day).
DayMatch = feedback_service.DayMatch
DEFAULT_MAX_ITEMS = 10
NOTHING_NEW = "No new papers today."


@dataclass
class DigestPlan:
    """The papers chosen (in order) with why each matched, before TL;DRs are fetched."""

    day: date
    papers: list[Paper] = field(default_factory=list)
    whys: list[str | None] = field(default_factory=list)
    more: int = 0
    topics: list[str] = field(default_factory=list)
    unmatched: int = 0  # the day's papers when its topics matched none of them (not: all matches posted already)


def day_label(day: date) -> str:
    return f"{day:%a} {day:%b} {day.day}, {day.year}"


def by_upvotes(papers: Iterable[Paper]) -> list[Paper]:
    """Without a topic to rank by: most upvoted first, oldest id breaking ties (stable across calls)."""
    return sorted(papers, key=lambda p: (-(p.upvotes or 0), p.id))


def rank_for_topics(
    matcher: TopicMatcher, topics: Sequence[str], papers: Sequence[Paper], *, match: DayMatch | None = None,
) -> list[tuple[RankedPaper, str]]:
    """Each matching paper once, with the topic it matched best; ranked by relevance, then upvotes."""
    best: dict[int, tuple[RankedPaper, str]] = {}
    results = match(topics, papers) if match is not None else match_many(matcher, topics, papers)
    for topic, ranked in results.items():
        for item in ranked:
            current = best.get(item.paper.id)
            if current is None or item.result.score > current[0].result.score:
                best[item.paper.id] = (item, topic)
    return sorted(best.values(), key=lambda pair: rank_key(pair[0]))


def choose(
    matcher: TopicMatcher,
    day: date,
    papers: Sequence[Paper],
    topics: Sequence[str],
    *,
    seen: set[int] | frozenset[int] = frozenset(),
    covered_day: date | None = None,
    max_items: int = DEFAULT_MAX_ITEMS,
    match: DayMatch | None = None,
) -> DigestPlan:
    """Pure: which of the day's papers a channel gets. `seen` are papers its digests already listed;
    `covered_day` the newest day they covered — a covered day's overflow ("K more") is not served again."""
    plan = DigestPlan(day=day, topics=list(topics))
    if covered_day is not None and covered_day >= day:
        return plan
    if topics:
        # Match against the whole day (one shared index for every channel), then drop what was posted.
        every = rank_for_topics(matcher, topics, papers, match=match)
        ranked = [(item, topic) for item, topic in every if item.paper.id not in seen]
        plan.unmatched = 0 if every else len(papers)
        chosen = ranked[:max_items]
        plan.papers = [item.paper for item, _ in chosen]
        plan.whys = [f"{topic}: {item.result.why()}" for item, topic in chosen]
        plan.more = len(ranked) - len(chosen)
    else:
        ordered = by_upvotes(p for p in papers if p.id not in seen)
        plan.papers = ordered[:max_items]
        plan.whys = [None] * len(plan.papers)
        plan.more = len(ordered) - len(plan.papers)
    return plan


async def plan_digest(
    session: AsyncSession,
    matcher: TopicMatcher,
    scope: Scope,
    destination: str,
    day: date,
    *,
    max_items: int = DEFAULT_MAX_ITEMS,
    exclude_posted: bool = True,
) -> DigestPlan:
    topics = await list_topics(session, scope)
    papers = await papers_of_days(session, day, day)
    seen: set[int] = set()
    covered = None
    if exclude_posted:
        seen = await posted_paper_ids(session, destination)
        covered = await latest_day_among(session, seen) if seen else None
    match = await feedback_service.day_match_for(session, matcher, scope, topics)
    return choose(matcher, day, papers, topics, seen=seen, covered_day=covered, max_items=max_items, match=match)


async def render_digest(plan: DigestPlan, summaries: SummaryService, *, platform: str,
                        nothing_new: str = NOTHING_NEW, deadline: float | None = None,
                        for_channel: bool = True) -> Message:
    """The digest's message; `platform` is where it is shown, so the commands it names are spelled as there.
    A channel's digest on a day its topics matched nothing says so ("No new papers today" would be false when
    there were 23) and where the day's papers are; a person's (`for_channel` False) has its own `nothing_new`."""
    if not plan.papers:
        header = f"Paperboy · {day_label(plan.day)}"
        if plan.unmatched and for_channel:
            none = (f"None of the day's {plan.unmatched:,} new papers match this channel's topics."
                    if plan.unmatched > 1 else "The day's new paper does not match this channel's topics.")
            return Message(header=header, text=none,
                           context=["Topics: " + ", ".join(plan.topics),
                                    f"All of them: {command_hint(platform, 'papers', 'today')}"])
        return Message(header=header, text=nothing_new)
    items = await items_with_tldrs(summaries, plan.papers, plan.whys, deadline=deadline)
    context = []
    if plan.topics:
        context.append("Topics: " + ", ".join(plan.topics))
    else:
        follow = command_hint(platform, "subscribe", value="TOPIC")
        context.append(f"Top papers by upvotes. Follow topics with {follow}.")
    if plan.more:  # the next ten (page 1 is about this digest)
        context.append(f"{plan.more} more — {command_hint(platform, 'papers', 'today', value='2')}")
    return Message(header=f"Paperboy · {day_label(plan.day)}", items=items, context=context)
