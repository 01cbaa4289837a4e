"""`paperboy topics match` and `paperboy search`: the matching and search the bot uses, from the shell."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

import typer

from bot.app import App
from bot.cli.common import console_channel, console_user, fail, out, parse_date_option, run
from bot.errors import UsageError
from bot.feedback import feedback_service
from bot.scope import Scope
from bot.topics.matcher import MatchResult
from bot.topics.subscriptions import clean_new_topic
from bot.topics.topic_service import RankedPaper, TopicMatcher, authors_named, match_topic, search_papers
from storage.paper_store import find_paper, latest_day, paper_to_record, reference_kind

CONSOLE_PLATFORM, CONSOLE_WORKSPACE = "console", "local"  # the scope `paperboy console --channel C` judges in
MAX_JUDGED_AT_ONCE = 100  # a script's batch; each judgement refits the topic's model


Why = Callable[[RankedPaper], str]


def _record(item: RankedPaper, why: Why | None = None) -> dict[str, object]:
    record = paper_to_record(item.paper)
    return {
        "id": record["id"], "arxiv_id": record["arxiv_id"], "title": record["title"], "url": record["url"],
        "day": record["listed_on"] or record["published_on"], "upvotes": record["upvotes"],
        "score": item.result.score, "matched": item.result.matched,
        "why": why(item) if why else item.result.why(),
    }


def _print(items: list[RankedPaper], as_json: bool, empty: str, why: Why | None = None, first: int = 1) -> None:
    """`why`: each item's reason, when the match's own does not tell it (a paper named by its id, or found by its
    authors, matched no words). `first`: the number of the first item (a later page numbers on)."""
    if as_json:
        print(json.dumps([_record(i, why) for i in items], ensure_ascii=False, indent=1))
        return
    if not items:
        out.print(empty, markup=False)
        return
    for n, item in enumerate(items, start=first):
        mark = "✓" if item.result.matched else " "
        ident = item.paper.arxiv_id or f"#{item.paper.id}"
        out.print(f"{n:>2}. {mark} [{item.result.score:5.2f}] {item.paper.title}  ({ident})", markup=False)
        out.print(f"       why: {why(item) if why else item.result.why()}", markup=False)


def _found_by_authors(query: str) -> Why:
    """The match's why, plus the authors the query names (a paper found by its author said "no mention of the
    topic")."""

    def why(item: RankedPaper) -> str:
        if item.named_by is not None:
            return f"named by its {item.named_by}"
        named = authors_named(query, item.paper.authors)
        if not named:
            return item.result.why()
        by = "by " + ", ".join(named)
        result = item.result
        return by if not result.hits and not result.together and result.similarity is None else f"{result.why()}; {by}"

    return why


def register(cli: typer.Typer) -> None:
    topics_cli = typer.Typer(no_args_is_help=True, help="Topic matching: what a subscription would receive.")
    cli.add_typer(topics_cli, name="topics")

    @topics_cli.command("match")
    def topics_match(
        topic: Annotated[str, typer.Argument(help="A topic as you would subscribe to it, e.g. \"gnn\".")],
        day: Annotated[str | None, typer.Option("--date", help="Papers of this day (default: the latest day).")]
        = None,
        every: Annotated[bool, typer.Option("--all", help="Consider every stored paper.")] = False,
        limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many papers.")] = 50,
        as_json: Annotated[bool, typer.Option("--json", help="A JSON array, best first.")] = False,
        channel: Annotated[str | None, typer.Option(
            "--channel", help="Rank with what this console channel taught the topic (its judgements).",
            callback=console_channel)]
        = None,
    ) -> None:
        """Rank papers for a topic exactly as digests do; ✓ marks papers a digest would include."""
        when = parse_date_option(day)
        if when is not None and every:
            raise fail("use either --date or --all, not both")

        async def go(app: App) -> list[RankedPaper]:
            shown, _ = clean_new_topic(topic)  # as /subscribe stores it (no invisible characters)
            matcher = TopicMatcher()
            async with app.db.session() as session:
                target = None
                if not every:
                    target = when or await latest_day(session, app.today())
                    if target is None:
                        return []
                if channel is not None:
                    scope = Scope.for_channel(CONSOLE_PLATFORM, CONSOLE_WORKSPACE, channel)
                    return await feedback_service.match_topic_for(session, matcher, scope, shown, since=target,
                                                                  until=target, limit=limit, semantic=app.semantic)
                return await match_topic(session, matcher, shown, since=target, until=target, limit=limit,
                                         semantic=app.semantic)

        _print(run(go), as_json, f"No stored paper matches {topic[:80]!r}.")

    @topics_cli.command("feedback")
    def topics_feedback(
        topic: Annotated[str, typer.Argument(help="The topic the papers were listed for (\"none\": no topic).")],
        paper_refs: Annotated[list[str], typer.Argument(
            help="arXiv ids, URLs or #ids of stored papers, one or more.", metavar="PAPER_REF...")],
        relevant: Annotated[bool, typer.Option("--relevant", help="Your verdict: relevant here.")] = False,
        not_relevant: Annotated[bool, typer.Option("--not-relevant", help="Your verdict: not for us.")] = False,
        channel: Annotated[str, typer.Option("--channel", help="The console channel judging.",
                                                   callback=console_channel)] = "general",
        user: Annotated[str, typer.Option("--user", help="Who judges (their latest verdict counts).",
                                                callback=console_user)]
        = "you",
    ) -> None:
        """Judge papers for a topic in a console channel; that channel's ranking of the topic learns from them.
        All or nothing: a reference to no stored paper changes nothing."""
        if not topic.strip():  # "" read as no topic, and judged the papers for "none"
            raise fail("say which topic (\"none\": the papers were listed for no topic)")
        if relevant and not_relevant:  # one flag pair with a "/" settled it by the last one given
            raise fail("use either --relevant or --not-relevant, not both")
        if not (relevant or not_relevant):
            raise fail("say --relevant or --not-relevant")
        if len(paper_refs) > MAX_JUDGED_AT_ONCE:
            raise fail(f"at most {MAX_JUDGED_AT_ONCE} papers at once")
        if any(len(ref) > 300 for ref in paper_refs):
            raise fail("that paper reference is too long")

        async def go(app: App) -> list[str]:
            scope = Scope.for_channel(CONSOLE_PLATFORM, CONSOLE_WORKSPACE, channel)
            verdict = "relevant" if relevant else "not for us"
            lines = []
            matcher = TopicMatcher()
            async with app.db.session() as session:  # one transaction: every judgement, or none
                papers = [await find_paper(session, ref) for ref in paper_refs]
                unknown = [ref for ref, paper in zip(paper_refs, papers, strict=True) if paper is None]
                if unknown:
                    raise UsageError(f"no stored paper {unknown[0][:80]!r}"
                                     + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                                     + "; nothing was marked")
                for paper in dict.fromkeys(p for p in papers if p is not None):
                    outcome = await feedback_service.judge(session, matcher, scope, topic, paper, user, relevant)
                    lines.append(f"#{channel}: {paper.title[:100]} marked {verdict} for “{outcome.topic}” "
                                 f"(👍 {outcome.votes.relevant} · 👎 {outcome.votes.not_relevant}; the topic has "
                                 f"learned from {outcome.judged} judged paper{'s' if outcome.judged != 1 else ''}).")
            return lines

        for line in run(go):
            out.print(line, markup=False)

    @cli.command("search")
    def search(
        query: Annotated[str, typer.Argument(help="Words to find in titles, abstracts and authors.")],
        since: Annotated[str | None, typer.Option("--since", help="From this day (YYYY-MM-DD).")] = None,
        until: Annotated[str | None, typer.Option("--until", help="Up to this day (YYYY-MM-DD).")] = None,
        min_upvotes: Annotated[int | None, typer.Option(
            "--min-upvotes", min=0, help="Only papers with at least this many Hugging Face upvotes.")] = None,
        limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many papers.")] = 20,
        offset: Annotated[int, typer.Option(
            "--offset", min=0, max=100_000, help="Skip the best N first (--offset 20: the next page of 20).")] = 0,
        as_json: Annotated[bool, typer.Option("--json", help="A JSON array, best first.")] = False,
    ) -> None:
        """Free-text search over stored papers: every word must appear. ✓ marks papers the words would match as a
        topic (/subscribe WORDS)."""
        start, end = parse_date_option(since), parse_date_option(until)
        if start is not None and end is not None and start > end:  # else "Nothing found", as if no word matched
            raise fail(f"--since {start} is after --until {end}")
        if len(query) > 1000:
            raise fail("that search is too long (at most 1000 characters)")
        if not query.strip():
            raise fail("say what to search for, e.g. paperboy search \"retrieval augmented\"")

        kind = reference_kind(query)

        async def go(app: App) -> list[RankedPaper]:
            async with app.db.session() as session:
                if kind is not None:  # a pasted arXiv id, link or #12: that paper, as in chat
                    paper = await find_paper(session, query)
                    found = [] if paper is None else [RankedPaper(paper, MatchResult(score=0.0, matched=True))]
                    return found[offset:offset + limit]
                return await search_papers(session, TopicMatcher(), query, since=start, until=end,
                                           min_upvotes=min_upvotes, limit=limit, offset=offset)

        after = f" after the first {offset:,}" if offset else ""
        if kind is not None:  # past the one paper it names, that paper exists
            missing = f" after the first {offset:,}" if offset else f": no stored paper has that {kind}"
            _print(run(go), as_json, f"Nothing found for {query[:80]!r}{missing}.",
                   why=lambda item: f"named by its {kind}", first=offset + 1)
        else:
            _print(run(go), as_json, f"Nothing found for {query[:80]!r}{after}.", why=_found_by_authors(query),
                   first=offset + 1)
