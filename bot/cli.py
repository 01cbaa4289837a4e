"""`paperboy` on the command line. Commands translate arguments, call the core, and print; nothing more.

Every expected failure (`PaperboyError`) becomes one line on stderr and exit status 2; nothing prints a
traceback unless `PAPERBOY_DEBUG` is set.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from adapters.console import console_cli
from bot import cli_config, cli_digests, cli_run, cli_summaries, cli_topics
from bot.app import App, open_app
from bot.config import Settings, settings_problems
from bot.errors import PaperboyError, UsageError
from bot.ingestion.ingest_service import Source, parse_source, sample_sources
from bot.ingestion.paper_checks import describe_skipped
from bot.redaction import mask_url_credentials
from storage.paper_store import IngestCounts, find_paper, iter_papers, list_papers, paper_to_record

T = TypeVar("T")

cli = typer.Typer(
    name="paperboy", no_args_is_help=True, add_completion=False,
    help="Daily research papers, matched to your team's topics, in Slack and Discord.",
)
papers_cli = typer.Typer(no_args_is_help=True, help="Look at stored papers.")
cli.add_typer(papers_cli, name="papers")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    db_url: str | None = None


def settings_from_cli() -> Settings:
    """Settings from the environment and .env, with command-line overrides (--db). A bad setting is one line
    naming its variable and exit status 2, for every command."""
    try:
        settings = Settings()
    except ValidationError as exc:
        for line in settings_problems(exc):
            print(f"error: {line}", file=sys.stderr)
        raise typer.Exit(2) from None
    if State.db_url:
        settings.database_url = State.db_url
    return settings


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line for the user and hand back the exit to raise."""
    print(f"error: {mask_url_credentials(message)}", file=sys.stderr)
    return typer.Exit(code)


def run(command: Callable[[App], Coroutine[Any, Any, T]]) -> T:
    """Open the app, run one async command, and turn expected failures into one line and exit status 2."""

    settings = settings_from_cli()

    async def main() -> T:
        async with open_app(settings) as app:
            return await command(app)

    try:
        return asyncio.run(main())
    except PaperboyError as exc:
        if os.environ.get("PAPERBOY_DEBUG"):
            raise
        raise fail(str(exc)) from None


@cli.callback()
def root(
    db: Annotated[str | None, typer.Option("--db", help="Database URL (sqlite:///file or postgresql://…); "
                                           "default: $PAPERBOY_DATABASE_URL or a file in your data directory.")]
    = None,
) -> None:
    State.db_url = db


def _describe(counts: IngestCounts) -> str:
    skipped = f", {len(counts.skipped)} skipped" if counts.skipped else ""
    return f"{counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged{skipped}"


@cli.command()
def ingest(
    sources: Annotated[list[str] | None, typer.Argument(
        help="Files (HF page text, HF JSON, arXiv Atom/RSS), hf:YYYY-MM-DD, hf:today, arxiv:QUERY.")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Ingest the sample pages bundled with Paperboy.")]
    = False,
) -> None:
    """Store papers from listings; each source is all-or-nothing."""
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
        with Progress(console=err, transient=True, disable=not sys.stderr.isatty()) as progress:
            task = progress.add_task("Ingesting", total=len(parsed))
            for source in parsed:
                progress.update(task, description=f"Ingesting {str(source)[:40]}")
                try:
                    counts = await app.ingestor.ingest(source)
                except PaperboyError as exc:
                    failed = True
                    progress.console.print(f"error: {exc}", markup=False)
                else:
                    total.add(counts)
                    if counts.skipped:
                        progress.console.print(f"warning: {source}: {describe_skipped(counts.skipped)}",
                                               markup=False)
                    if len(parsed) > 1:
                        progress.console.print(f"{source}: {counts.total} papers ({_describe(counts)})",
                                               markup=False)
                progress.advance(task)
        out.print(f"{total.total} papers: {_describe(total)}", markup=False)
        return failed

    if run(go):
        raise typer.Exit(2)


def parse_date_option(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"not a date: {value[:40]!r} (use YYYY-MM-DD)") from None


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


# Command groups of later features register themselves here (one module each, e.g. bot/cli_summaries.py).
cli_topics.register(cli)
cli_summaries.register(cli)
console_cli.register(cli)
cli_digests.register(cli)
cli_run.register(cli)
cli_config.register(cli)


# Platform command groups load their SDKs (slack-bolt, discord.py) only when used: every other command starts
# fast, and the core never imports a platform library.
_PLATFORM_CLIS = {
    "slack": ("adapters.slack.slack_cli", "The Slack adapter: check the configuration."),
    "discord": ("adapters.discord.discord_cli", "The Discord adapter: sync commands, invite URL."),
}


def main() -> None:
    import importlib

    wanted = sys.argv[1] if len(sys.argv) > 1 else None
    for name, (module, help_text) in _PLATFORM_CLIS.items():
        if wanted == name:
            importlib.import_module(module).register(cli)
        else:
            cli.add_typer(typer.Typer(help=help_text), name=name)
    cli()
