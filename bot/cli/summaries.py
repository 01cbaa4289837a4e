"""`paperboy summarize` and `paperboy stats`: the summaries the bot would post, and what they have cost."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.app import App
from bot.cli.common import fail, out, run
from bot.errors import UsageError
from bot.messages import plural
from bot.summaries.kinds import Summary, SummaryKind
from bot.summaries.summary_service import make_request, paper_text
from storage.paper_store import find_paper
from storage.summary_store import CallTotals, SummaryStats, summary_stats


def _provenance(summary: Summary) -> str:
    if summary.model is None:
        return f"— {summary.producer}"
    return f"— {summary.model}" + (", from cache" if summary.cached else "")


def _tokens(totals: CallTotals) -> str:
    return (f"{totals.tokens:,} tokens ({totals.prompt_tokens:,} prompt + {totals.completion_tokens:,} "
            f"completion)")


def describe_stats(stats: SummaryStats, budget: int | None) -> list[str]:
    """The lines of `paperboy stats`; plain text, so it reads the same in a terminal and in a log."""
    lines = []
    asked = stats.request_count
    if asked:
        rate = stats.hit_rate or 0.0
        new = stats.requests.get("generated", 0)
        lines.append(f"Summary requests: {asked:,}; cache hit rate {rate:.0%} ({stats.served_without_new_call:,} "
                     f"served from the cache or a shared call, {new:,} newly generated)")
    else:
        lines.append("Summary requests: none yet")
    offline = {k.split(":", 1)[1] if ":" in k else "no LLM configured": n
               for k, n in stats.requests.items() if k == "offline" or k.startswith("fallback:")}
    if offline:
        detail = ", ".join(f"{reason} {n:,}" for reason, n in sorted(offline.items(), key=lambda kv: -kv[1]))
        lines.append(f"Offline summaries: {sum(offline.values()):,} ({detail})")
    total = stats.total
    failed = {k: n for k, n in total.outcomes.items() if k != "ok"}
    failures = (", failed: " + ", ".join(f"{k} {n:,}" for k, n in sorted(failed.items()))) if failed else ""
    lines.append(f"LLM calls: {total.calls:,} ({total.ok:,} ok{failures}); {_tokens(total)}; "
                 f"average latency {total.average_latency_ms:,} ms")
    cap = f"daily budget {budget:,}" if budget else "no daily budget"
    lines.append(f"Today: {plural(stats.today.calls, 'call')}, {plural(stats.today.tokens, 'token')} ({cap})")
    for model, totals in sorted(stats.by_model.items()):
        lines.append(f"  {model}: {plural(totals.calls, 'call')}, {_tokens(totals)}")
    lines.append(f"Stored summaries: {stats.stored:,}")
    return lines


def register(cli: typer.Typer) -> None:
    @cli.command()
    def summarize(
        ref: Annotated[str, typer.Argument(help="arXiv id or URL, #id, or exact title.")],
        kind: Annotated[str | None, typer.Option("--kind", help="tldr (default) or summary.")] = None,
        question: Annotated[str | None, typer.Option("--question", help="Ask something about the paper.")]
        = None,
    ) -> None:
        """Condense one paper as the bot would (LLM if configured, else the offline summarizer)."""
        if question is not None and kind is not None:
            raise fail("use either --kind or --question, not both")
        chosen = (kind or SummaryKind.TLDR.value).strip().lower()
        if question is None and chosen not in (SummaryKind.TLDR.value, SummaryKind.SUMMARY.value):
            raise fail(f"unknown kind {chosen[:20]!r}: use --kind tldr or --kind summary")

        async def go(app: App) -> None:
            async with app.db.session() as session:
                paper = await find_paper(session, ref)
            if paper is None:
                raise UsageError(f"no stored paper matches {ref[:80]!r}")
            request = make_request(paper_text(paper), chosen, question)
            summary = await app.summaries.get(request)
            out.print(paper.title, style="bold", markup=False)
            if request.question:
                out.print(f"Q: {request.question}", markup=False)
            out.print(summary.text, markup=False)
            out.print(_provenance(summary), style="dim", markup=False)

        run(go)

    @cli.command()
    def stats() -> None:
        """LLM calls, tokens and the summary cache's hit rate."""

        async def go(app: App) -> None:
            async with app.db.session() as session:
                figures = await summary_stats(session, app.today())
            for line in describe_stats(figures, app.settings.llm_daily_token_budget):
                out.print(line, markup=False)

        run(go)
