"""/papers today | top | search | show | why (declared in bot.commands.command_table)."""

from __future__ import annotations

from datetime import date, timedelta

from bot.commands.command_hints import command_hint
from bot.commands.command_input import require_ascii_digits
from bot.commands.context import ChatContext
from bot.commands.paper_items import items_with_tldrs, to_item
from bot.commands.services import CoreServices
from bot.digests.digest_composer import by_upvotes, day_label, rank_for_topics
from bot.errors import UsageError
from bot.feedback import feedback_service
from bot.feedback.learned_model import as_personal
from bot.messages import Message, Reply, Visibility, plural
from bot.personal.for_you import for_you
from bot.scope import Scope
from bot.summaries.summary_service import paper_text
from bot.topics.topic_service import authors_named, search_pool
from storage.destination_store import get_destination
from storage.models import Paper
from storage.paper_store import (
    find_paper,
    latest_day,
    latest_upvoted_day,
    papers_of_days,
    reference_kind,
    top_papers,
)
from storage.subscription_store import list_topics

TODAY_LIMIT = 10

async def channel_timezone(services: CoreServices, ctx: ChatContext) -> str:
    async with services.db.session() as session:
        destination = await get_destination(session, ctx.destination)
    return destination.timezone if destination is not None and destination.timezone else services.default_timezone


def _page_number(text: str, platform: str, example: str | None = None) -> int:
    """`example`: how to ask for page 2 (default: of `/papers today`)."""
    words = text.strip()
    if not words:
        return 1
    example = example or command_hint(platform, "papers", "today", value="2")
    require_ascii_digits(words, example)
    if not words.isdigit() or len(words) > 4 or int(words) == 0:  # a page past the day's end is answered as such
        raise UsageError(f"{words[:10]!r} is not a page; use a number from 1, e.g. {example} for the next ten")
    return int(words)


async def today(services: CoreServices, ctx: ChatContext, page_text: str = "") -> Reply:
    """Today's papers, ten a page (`page_text` "2": the 11th to 20th), matches first; a footer says how to see
    the next ten, so a digest's "N more" footer points at `/papers today 2` (on Discord `page:2`)."""
    number = _page_number(page_text, ctx.platform)
    skip = (number - 1) * TODAY_LIMIT
    timezone = await channel_timezone(services, ctx)
    now_day = services.today(timezone)
    async with services.db.session() as session:
        day = await latest_day(session, now_day)
        if day is None:
            return Reply(Message(text="No papers stored yet. New papers arrive every weekday."))
        papers = await papers_of_days(session, day, day)
        topics = await list_topics(session, ctx.channel_scope)
        match = await feedback_service.day_match_for(session, services.matcher, ctx.channel_scope, topics)
    chosen: list[Paper]
    if topics:
        ranked = rank_for_topics(services.matcher, topics, papers, match=match)
        matched_ids = {item.paper.id for item, _ in ranked}
        rest = by_upvotes(p for p in papers if p.id not in matched_ids)
        chosen = [item.paper for item, _ in ranked] + rest
        whys: list[str | None] = [f"{topic}: {item.result.why()}" for item, topic in ranked]
        whys += [None] * len(rest)
        note = (f"{len(ranked):,} of {plural(len(papers), 'paper')} {'matches' if len(ranked) == 1 else 'match'} "
                "this channel's topics.")
    else:
        chosen = by_upvotes(papers)
        whys = [None] * len(chosen)
        note = ("No topics yet: ranked by upvotes. Follow topics with "
                f"{command_hint(ctx.platform, 'subscribe', value='TOPIC')}.")
    total = len(chosen)
    page, whys = chosen[skip:skip + TODAY_LIMIT], whys[skip:skip + TODAY_LIMIT]
    if not page:
        last = max(1, -(-total // TODAY_LIMIT))
        return Reply(Message(text=f"{plural(total, 'paper')} on {day_label(day)}: there is no page {number:,}; "
                                  f"the last is page {last}."), Visibility.EPHEMERAL)
    header = f"Papers of {day_label(day)}" + (f" ({skip + 1}–{skip + len(page)})" if skip else "")
    context = [note]
    if (left := total - skip - len(page)) > 0:
        context.append(f"{left} more — {command_hint(ctx.platform, 'papers', 'today', value=str(number + 1))}")
    if day != now_day:
        context.insert(0, f"Nothing new on {day_label(now_day)}; showing the latest day, {day_label(day)}.")
    items = await items_with_tldrs(services.summaries, page, whys, deadline=services.tldr_deadline, first=skip + 1)
    # beyond the channel's list as far as the asker has paged it: page 2 does not offer page 1's papers again
    private = await for_you(services, ctx, papers, {p.id for p in chosen[:skip + len(page)]})
    # numbered as the day's list (11 to 20 on page 2), and replied to as such: "summarize 12" is the twelfth, and
    # "more 3" is refused (0: a number this message does not show — the first page may never have been posted here)
    listing = [0] * skip + [p.id for p in page] if skip else None
    return Reply(Message(header=header, items=items, context=context), private=private, listing=listing)


async def top(services: CoreServices, ctx: ChatContext, period: str) -> Reply:
    """The period's most upvoted papers; when none of its papers has an upvote (none stored: a Monday morning for
    `day`, a pause in ingestion; or not voted on yet), the same length of time up to the latest day that has
    some, as `/papers today` falls back."""
    days = {"": 7, "week": 7, "day": 1, "month": 30}[period.lower()]
    end = services.today(await channel_timezone(services, ctx))
    start = end - timedelta(days=days - 1)
    latest: date | None = None  # the end of the period shown instead
    unvoted = False  # the period asked for had papers, none of them upvoted
    async with services.db.session() as session:
        papers = await top_papers(session, start, end, limit=TODAY_LIMIT)
        if not _upvoted(papers):
            latest = await latest_upvoted_day(session, end)
            if latest is None and not papers:
                latest = await latest_day(session, end)
            if latest is not None:
                unvoted = bool(papers)
                papers = await top_papers(session, latest - timedelta(days=days - 1), latest, limit=TODAY_LIMIT)
    label = {1: "today", 7: "this week", 30: "this month"}[days]
    if not papers:
        return Reply(Message(text=f"No papers stored for {label} ({_span(start, end)})."))
    header, context = f"Top papers {label}", []
    if latest is not None:
        shown = {1: day_label(latest), 7: f"the week to {day_label(latest)}",
                 30: f"the 30 days to {day_label(latest)}"}[days]
        header = f"Top papers of {shown}"
        missing = "No upvotes yet" if unvoted else "Nothing stored"
        context.append(f"{missing} for {label} ({_span(start, end)}); showing {shown}.")
        start, end = latest - timedelta(days=days - 1), latest
    context.append(f"{_span(start, end)}, by upvotes" if _upvoted(papers)
                   else "None of them has upvotes yet: in listing order.")
    items = await items_with_tldrs(services.summaries, papers, deadline=services.tldr_deadline)
    return Reply(Message(header=header, items=items, context=context))


def _upvoted(papers: list[Paper]) -> bool:
    return any(p.upvotes for p in papers)


def _span(start: date, end: date) -> str:
    return str(start) if start == end else f"{start} to {end}"


def _search_page(text: str, platform: str) -> tuple[str, int]:
    """The query and the page asked for: "diffusion page 2" is the second ten of "diffusion". Only a last word
    without letters after "page" asks for a page ("virtual memory page tables" is a search like any other), and one
    that is no page number is refused, as `/papers today` refuses it."""
    words = text.split()
    if len(words) < 3 or words[-2].lower() != "page" or any(c.isalpha() for c in words[-1]) \
            or not any(c.isdigit() for c in words[-1]):
        return text, 1
    query = " ".join(words[:-2])
    return query, _page_number(words[-1], platform, command_hint(platform, "papers", "search", value=f"{query} page 2"))


async def search(services: CoreServices, ctx: ChatContext, text: str) -> Reply:
    """Words over titles, abstracts and authors; a pasted arXiv id, link or `#12` is that paper. Ten a page: "QUERY
    page 2" is the 11th to 20th, numbered so, and a footer says how to see the next ten."""
    query, number = _search_page(text, ctx.platform)
    skip = (number - 1) * TODAY_LIMIT
    kind = reference_kind(query)
    named_by: dict[int, str] = {}  # papers a bare number named ("256": paper #256, before the papers saying it)
    complete = True  # False: more papers match than the ranked pool pages hold
    async with services.db.session() as session:
        if kind is not None:
            paper = await find_paper(session, query)
            found = [paper] if paper is not None else []
        else:
            pool = await search_pool(session, services.matcher, query)  # one ranking, whatever the page
            found = [r.paper for r in pool.ranked]
            named_by = {r.paper.id: r.named_by for r in pool.ranked if r.named_by}
            complete = pool.complete
    if not found:
        why = f": no stored paper has that {kind}" if kind else ""
        return Reply(Message(text=f"Nothing found for “{query[:100]}”{why}."), Visibility.EPHEMERAL)
    page = found[skip:skip + TODAY_LIMIT]
    if not page:
        last = -(-len(found) // TODAY_LIMIT)
        if not complete:
            return Reply(Message(text=f"More than {len(found):,} papers match “{query[:100]}”; pages show the best "
                                      f"{len(found):,} (pages 1 to {last}): add words to narrow the search."),
                         Visibility.EPHEMERAL)
        return Reply(Message(text=f"{plural(len(found), 'paper')} {'matches' if len(found) == 1 else 'match'} "
                                  f"“{query[:100]}”: there is no page {number:,}; the last is page {last}."),
                     Visibility.EPHEMERAL)
    context = []
    if len(found) > skip + TODAY_LIMIT:
        more = command_hint(ctx.platform, "papers", "search", value=f"{query} page {number + 1}")
        context.append(f"More than {skip + TODAY_LIMIT} papers match: the next ten with {more}, "
                       "or add words to narrow the search.")
    elif not complete:
        context.append(f"These are the last of the best {len(found):,} matches pages show; more papers match: "
                       "add words to narrow the search.")
    # a paper found by its authors says by whom (its title shows the words it was found by)
    named = [authors_named(query, p.authors) if kind is None else [] for p in page]
    whys = [f"named by its {named_by[p.id]}" if p.id in named_by else "by " + ", ".join(names) if names else None
            for p, names in zip(page, named, strict=True)]
    items = await items_with_tldrs(services.summaries, page, whys, first=skip + 1)
    header = f"Search: {query[:100]}" + (f" ({skip + 1}–{skip + len(page)})" if skip else "")
    listing = [0] * skip + [p.id for p in page] if skip else None  # numbered on, as `/papers today 2`
    return Reply(Message(header=header, items=items, context=context), Visibility.EPHEMERAL, listing=listing)


async def _find(services: CoreServices, ref: str) -> Paper:
    async with services.db.session() as session:
        paper = await find_paper(session, ref)
    if paper is None:
        raise UsageError(f"no stored paper matches “{ref[:80]}” (use an arXiv id, an arXiv or HF URL, or #id)")
    return paper


async def show(services: CoreServices, ctx: ChatContext, ref: str) -> Reply:
    paper = await _find(services, ref)
    tldr = await services.summaries.tldr(paper_text(paper))
    item = to_item(1, paper, tldr=tldr.text)
    # a paper no daily list carried (fetched from the arXiv API) was published that day, not listed
    context = [f"Listed {day_label(paper.listed_on)}" if paper.listed_on
               else f"Published {day_label(paper.published_on)}" if paper.published_on else "Date unknown"]
    if tldr.model is None:
        context.append("TL;DR: offline summary")
    return Reply(Message(items=[item], context=context))


async def why(services: CoreServices, ctx: ChatContext, ref: str, scope: Scope | None = None) -> Reply:
    """Why a paper matches the topics of the list it was on: the channel's, or (`scope` personal: the Why of the
    person's own digest or "for you" list) the asker's own, which that list was matched with."""
    scope = scope or ctx.channel_scope
    paper = await _find(services, ref)
    async with services.db.session() as session:
        topics = await list_topics(session, scope)
        explained = await feedback_service.explain_for(session, services.matcher, scope, topics, paper)
    if not topics:
        follow = command_hint(ctx.platform, "subscribe", value="TOPIC", personal=scope.is_personal)
        whose = "You follow no topics of your own" if scope.is_personal else "This channel follows no topics"
        return Reply(Message(text=f"{whose} yet, so nothing matches it. Try {follow}."), Visibility.EPHEMERAL)
    lines = []
    for topic, result in explained:
        mark = "✓" if result.matched else "✗"
        lines.append(f"{mark} {topic}: {as_personal(result.why()) if scope.is_personal else result.why()}")
    context = ["For your own topics; only you see this."] if scope.is_personal else []
    return Reply(Message(header=f"Why: {paper.title}", body="\n".join(lines), context=context),
                 Visibility.EPHEMERAL)
