"""`paperboy followups run` and `paperboy followups status`: follow-ups by hand, and what they did."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer

from bot.app import App, build_command_core, build_followup_runner
from bot.cli.common import out, parse_date_option, run
from bot.errors import UsageError
from bot.followups.followup_message import event_line
from bot.followups.followup_runner import RunReport
from storage import followup_store

# No paper is older than arXiv. A day after today is allowed for a channel whose timezone is ahead of ours; later,
# the run would take that day's refresh, and the real run on that day would find it done and fetch nothing.
FIRST_DAY = date(1991, 1, 1)
# A refresh's claim in the words `followups run` uses for it: a refresh posts nothing, so "posted" misled.
REFRESH_STATES = {"posted": "done", "claimed": "in progress"}


def check_day(day: date, today: date) -> None:
    if not FIRST_DAY <= day <= today + timedelta(days=1):
        raise UsageError(f"no follow-ups for {day.isoformat()}: use a day from {FIRST_DAY.isoformat()} to today")


def report_lines(report: RunReport) -> list[str]:
    lines = [f"refresh: {report.refresh}" + (f" ({report.refresh_detail})" if report.refresh_detail else "")]
    if report.events:
        lines.append(f"new events: {', '.join(report.events)}")
    for o in report.outcomes:
        lines.append(f"{o.destination} thread {o.thread}: {o.status}" + (f" ({o.detail})" if o.detail else ""))
    if not report.outcomes:
        lines.append("nothing to post")
    return lines


def register(cli: typer.Typer) -> None:
    followups_cli = typer.Typer(no_args_is_help=True,
                                help="Follow-ups in digest threads: new versions, code released, rising papers.")
    cli.add_typer(followups_cli, name="followups")

    @followups_cli.command("run")
    def followups_run(
        day: Annotated[str | None, typer.Option("--date", help="Follow-up day (default: today, and then only "
                                                               "channels in their daytime).")] = None,
    ) -> None:
        """Refresh posted papers (once a day), detect events and reply in digest threads (console channels here;
        the bot process replies on Slack and Discord). Each event at most once per thread."""
        when = parse_date_option(day)

        async def go(app: App) -> RunReport:
            from adapters.console.console_poster import ConsolePoster

            if when is not None:
                check_day(when, app.today())
            core = build_command_core(app)
            runner = build_followup_runner(app, {"console": ConsolePoster(core)})
            return await runner.run(app.clock(), day=when)

        report = run(go)
        out.print("\n".join(report_lines(report)), markup=False)
        if any(o.status == "failed" for o in report.outcomes) or report.refresh == "failed":
            raise typer.Exit(1)

    @followups_cli.command("status")
    def followups_status() -> None:
        """The last refreshes, recent events, and each thread's replies and failures."""

        async def go(app: App) -> list[str]:
            lines = []
            async with app.db.session() as session:
                refreshes = await followup_store.latest_claims(session, refresh=True, limit=3)
                claims = await followup_store.latest_claims(session, refresh=False, limit=30)
                events = await followup_store.latest_events(session, limit=20)
                papers = await followup_store.papers_by_id(session, {e.paper_id for e in events})
                switch = await followup_store.followups_enabled(
                    session, {c.destination_key for c in claims if c.destination_key})
            lines.append("refresh: " + (", ".join(f"{c.day} {REFRESH_STATES.get(c.status, c.status)}"
                                                  + (f" ({c.last_error})" if c.last_error and c.status != "posted"
                                                     else "")
                                                  for c in refreshes) or "never"))
            lines.append(f"latest events: {len(events)}" if events else "no events yet")
            for e in events:
                paper = papers.get(e.paper_id)
                name = (paper.arxiv_id or f"#{paper.id}") if paper else f"#{e.paper_id}"
                lines.append(f"  {e.day} {name}: {event_line(e.kind, dict(e.detail or {}))}")
            for c in claims:
                state = "" if switch.get(c.destination_key or "", True) else " [follow-ups off]"
                status = "replied" if c.status == "posted" else c.status
                extra = f": {c.last_error}" if c.last_error and c.status != "posted" else ""
                lines.append(f"{c.destination_key}{state} thread {c.thread_key} {c.day}: {status}, "
                             f"{len(c.event_ids)} event(s), attempt {c.attempts}{extra}")
            return lines

        out.print("\n".join(run(go)), markup=False)
