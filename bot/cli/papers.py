"""`paperboy ingest` and `paperboy papers list|show|export`: listings in, stored papers out."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from bot.app import App
from bot.cli.common import err, fail, out, parse_date_option, run
from bot.errors import PaperboyError, UsageError
from bot.ingestion.ingest_service import Source, parse_source, sample_sources
from bot.ingestion.paper_checks import describe_skipped, one_line
from bot.messages import plural
from storage.paper_store import IngestCounts, find_paper, iter_papers, list_papers, paper_to_record


def _describe(counts: IngestCounts) -> str:
    skipped = f", {len(counts.skipped):,} skipped" if counts.skipped else ""
    return f"{counts.new:,} new, {counts.updated:,} updated, {counts.unchanged:,} unchanged{skipped}"


# Hugging Face's daily papers began in May 2023 (its first listing is a few days into the month): no day before
# has a listing, so asking for one can only answer nothing.
FIRST_HF_DAY = date(2023, 5, 1)


def _refuse_a_day_without_a_listing(app: App, source: Source) -> None:
    """`hf:2099-01-01` and `hf:0001-01-01` are refused before Hugging Face is asked: it answers an empty list,
    which read as "0 papers", as if the day had been fetched. The future is after today both here
    (PAPERBOY_TIMEZONE) and in UTC, so a zone behind UTC can still fetch the day Hugging Face has already started."""
    if source.kind != "hf" or source.value == "today":
        return
    try:
        day = date.fromisoformat(source.value)
    except ValueError:
        return  # the ingestor says what is wrong with it
    if day < FIRST_HF_DAY:
        raise UsageError(f"{source} is before Hugging Face's daily papers began ({FIRST_HF_DAY.isoformat()}): "
                         "nothing is listed for it")
    today = max(app.today(), app.clock().astimezone(UTC).date())
    if day > today:
        raise UsageError(f"{source} is in the future (today is {today.isoformat()}): nothing is listed for it yet")


def register(cli: typer.Typer) -> None:
    papers_cli = typer.Typer(no_args_is_help=True, help="Look at stored papers.")
    cli.add_typer(papers_cli, name="papers")

    @cli.command()
    def ingest(
        sources: Annotated[list[str] | None, typer.Argument(
            help="Files (HF page text, HF JSON, arXiv Atom/RSS), hf:YYYY-MM-DD, hf:today, arxiv:QUERY.")] = None,
        sample: Annotated[bool, typer.Option("--sample", help="Ingest the sample pages bundled with Paperboy.")]
        = False,
    ) -> None:
        """Store papers from listings: a source that fails stores nothing; an item in it that is not a paper is
        skipped and reported."""
        try:
            parsed: list[Source] = [parse_source(s) for s in sources or []]
        except UsageError as exc:
            raise fail(str(exc)) from None
        if sample:
            parsed.extend(sample_sources())
        if not parsed:
            raise fail("nothing to ingest: name files or hf:/arxiv: sources, or pass --sample")

        async def go(app: App) -> bool:
            total = IngestCounts()
            failed = False
            stored = 0  # sources that went in: a run where every source failed prints no "0 papers" total
            with Progress(console=err, transient=True, disable=not sys.stderr.isatty()) as progress:
                task = progress.add_task("Ingesting", total=len(parsed))
                for source in parsed:
                    name = one_line(str(source), 2000)  # a file name someone else chose is printed too
                    progress.update(task, description=f"Ingesting {name[:40]}")
                    try:
                        _refuse_a_day_without_a_listing(app, source)
                        counts = await app.ingestor.ingest(source)
                    except PaperboyError as exc:
                        failed = True
                        progress.console.print(f"error: {one_line(str(exc), 2000)}", markup=False)
                    else:
                        stored += 1
                        total.add(counts)
                        if counts.skipped:
                            progress.console.print(f"warning: {name}: {describe_skipped(counts.skipped)}",
                                                   markup=False)
                        if len(parsed) > 1:
                            progress.console.print(f"{name}: {plural(counts.total, 'paper')} ({_describe(counts)})",
                                                   markup=False)
                    progress.advance(task)
            if stored:
                out.print(f"{plural(total.total, 'paper')}: {_describe(total)}", markup=False)
            return failed

        if run(go):
            raise typer.Exit(2)


    @papers_cli.command("list")
    def papers_list(
        day: Annotated[str | None, typer.Option("--date", help="Only papers of this day (YYYY-MM-DD).")] = None,
        limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 20,
    ) -> None:
        """Stored papers, newest and most upvoted first."""
        when = parse_date_option(day)

        async def go(app: App) -> None:
            async with app.db.session() as session:
                rows = await list_papers(session, day=when, limit=limit)
            if not rows:
                out.print("No papers stored" + (f" for {when}." if when else " yet. Try: paperboy ingest --sample"))
                return
            table = Table("id", "arXiv", "day", "▲", "title", show_lines=False, expand=False)
            for p in rows:
                table.add_row(str(p.id), p.arxiv_id or "—", str(p.listed_on or p.published_on or "—"),
                              str(p.upvotes if p.upvotes is not None else "—"), p.title)
            out.print(table)

        run(go)


    @papers_cli.command("show")
    def papers_show(ref: Annotated[str, typer.Argument(help="arXiv id or URL, #id, or exact title.")]) -> None:
        """One paper in full."""

        async def go(app: App) -> None:
            async with app.db.session() as session:
                paper = await find_paper(session, ref)
            if paper is None:
                raise UsageError(f"no stored paper matches {ref[:80]!r}")
            record = paper_to_record(paper)
            out.print(record["title"], style="bold", markup=False)
            for key in ("arxiv_id", "url", "authors", "author_count", "organization", "published_on", "listed_on",
                        "upvotes", "sources"):
                value = record[key]
                if value not in (None, []):
                    shown = ", ".join(value) if isinstance(value, list) else value
                    out.print(f"{key}: {shown}", markup=False)
            out.print()
            out.print(record["abstract"], markup=False)

        run(go)


    @papers_cli.command("export")
    def papers_export(
        fmt: Annotated[str, typer.Option("--format", help="Only jsonl for now.")] = "jsonl",
    ) -> None:
        """Every stored paper as one JSON object per line on standard output."""
        if fmt != "jsonl":
            raise fail(f"unsupported format {fmt[:20]!r}: use --format jsonl")

        async def go(app: App) -> None:
            async with app.db.session() as session:
                async for paper in iter_papers(session):
                    sys.stdout.write(json.dumps(paper_to_record(paper), ensure_ascii=False) + "\n")

        run(go)
