"""`paperboy digest run` and `paperboy digest status`: digests by hand, and what the scheduler did."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer

from bot.app import App, build_command_core, build_digest_runner
from bot.cli.common import fail, out, parse_date_option, run
from bot.digests.digest_runner import Outcome
from bot.digests.schedule import next_run, shown_days
from bot.errors import UsageError
from storage import delivery_store
from storage.destination_store import list_destinations


def claim_line(claim: delivery_store.DeliveryView, now: datetime, running: bool | None) -> str:
    """One claimed delivery in words: who holds it, whether that process is gone, and when it frees up.

    `running` is what can be known about the owner (False: a process of this host that is gone; None: another
    host). An expired lease is free whatever the owner: the next run or tick takes it over (and looks for the
    dead owner's post in the channel before posting)."""
    head = f"claimed {claim.digest_day} by {claim.owner or '?'} (attempt {claim.attempts})"
    expires = claim.lease_expires_at
    if expires is None or expires <= now:
        since = f" at {expires.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if expires else ""
        gone = "owner gone" if running is False else "owner not renewing"
        return f"{head}: {gone}, lease expired{since}; free now — the next run takes it over"
    left = max(1, round((expires - now).total_seconds() / 60))
    until = f"{expires.astimezone(UTC):%Y-%m-%d %H:%M} UTC (in {left} min)"
    if running is False:
        return f"{head}: owner is not running; frees up at {until}"
    return f"{head}: in progress; lease until {until}"


# Errors that mean the bot may not post there: the fix is on the platform's side, not a later retry.
NOT_ALLOWED = ("not_in_channel", "channel_not_found", "is_archived", "not installed", "Missing Access",
               "Unknown Channel")


def failing_lines(failing: list[delivery_store.DeliveryView]) -> list[str]:
    """The destinations whose latest digest failed, first in `digest status`, with what to do where it is clear."""
    if not failing:
        return []
    lines = [f"Failing: {len(failing)} destination{'s' if len(failing) > 1 else ''}"]
    for f in failing:
        hint = ""
        if any(word in (f.last_error or "") for word in NOT_ALLOWED):
            hint = " — add the bot to the channel (Slack: /invite @paperboy) or turn its digest off"
        lines.append(f"  {f.destination_key} {f.digest_day} (attempt {f.attempts}): {f.last_error}{hint}")
    return lines


def register(cli: typer.Typer) -> None:
    digest_cli = typer.Typer(no_args_is_help=True, help="Daily digests: run them by hand, see what happened.")
    cli.add_typer(digest_cli, name="digest")

    @digest_cli.command("run")
    def digest_run(
        day: Annotated[str | None, typer.Option("--date", help="Digest day (default: today).")] = None,
        destination: Annotated[str | None, typer.Option("--destination",
                                                        help="One destination, e.g. console:local:general.")]
        = None,
    ) -> None:
        """Post the day's digests of console channels now (each at most once per day, as on schedule); Slack's
        and Discord's are left to the bot (paperboy run), which has their adapters."""
        when = parse_date_option(day)

        async def go(app: App) -> tuple[list[Outcome], list[tuple[str, str]], date]:
            from adapters.console.console_poster import ConsolePoster

            core = build_command_core(app)
            runner = build_digest_runner(app, core, {"console": ConsolePoster(core)})
            target = when or app.today()
            # Only the console can be posted to from here; Slack's and Discord's digests are the bot's (their
            # adapters live in `paperboy run`), and claiming them here would only record them as failed.
            if destination is not None and destination.partition(":")[0] not in runner.posters:
                raise UsageError(f"{destination[:120]} is posted by the bot (paperboy run), which has its "
                                 f"platform's adapter; digest run posts console channels")
            async with app.db.session() as session:
                left = [(d.key, d.platform) for d in await list_destinations(session, enabled_only=True)
                        if destination is None and d.platform not in runner.posters]
            return await runner.run_for(target, destination), left, target

        outcomes, left, target = run(go)
        if not outcomes and destination is not None:  # a typo in a script's destination is not "done"
            raise fail(f"no console channel with its digest on is {destination[:120]!r} (paperboy digest status "
                       "lists them)")
        if not outcomes and not left:
            out.print("No destination to run (subscribe a channel or set /papers digest HH:MM first).", markup=False)
        for o in outcomes:
            out.print(f"{o.destination} {o.day}: {o.status}" + (f" ({_detail(o)})" if o.detail else ""), markup=False)
        for key, platform in left:
            out.print(f"{key} {target}: left to the bot (paperboy run posts {platform} digests)", markup=False)
        if any(o.status == "failed" for o in outcomes):
            raise typer.Exit(1)

    @digest_cli.command("status")
    def digest_status() -> None:
        """Each destination's settings, last and next run, and recent failures."""

        async def go(app: App) -> list[str]:
            now = app.clock()
            lines = []
            async with app.db.session() as session:
                lines += failing_lines(await delivery_store.failing_destinations(session))
                for d in await list_destinations(session):
                    zone = d.timezone or app.settings.timezone
                    last = await delivery_store.last_posted(session, d.key)
                    failures = await delivery_store.recent_failures(session, d.key, limit=3)
                    state = "on" if d.digest_enabled else "off"
                    upcoming = next_run(now, d.digest_time, zone, d.digest_days) if d.digest_enabled else None
                    lines.append(f"{d.key}  [{state}] {d.digest_time} {zone} {shown_days(d.digest_days)}")
                    done = "nothing to send" if last and last.message_ref == delivery_store.NOTHING_SENT else "posted"
                    lines.append("  last: " + (f"{last.digest_day} {done} {last.posted_at:%Y-%m-%d %H:%M} UTC"
                                               if last and last.posted_at else "never"))
                    if upcoming is not None:
                        lines.append(f"  next: {upcoming.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
                                     f"({upcoming:%a %H:%M} {zone})")
                    for f in failures:
                        lines.append(f"  failed {f.digest_day} (attempt {f.attempts}): {f.last_error}")
                    for c in await delivery_store.open_claims(session, d.key):
                        lines.append("  " + claim_line(c, now, delivery_store.owner_running(c.owner)))
            return lines

        lines = run(go)
        out.print("\n".join(lines) if lines else "No destinations yet.", markup=False)


def _detail(outcome: Outcome) -> str:
    """A posted digest's detail is where it went (the platform's message reference: the console's #N, a Slack
    ts, a Discord id), which printed bare read "posted (2)"; said with its number of papers."""
    if outcome.status != "posted":
        return outcome.detail
    papers = len(outcome.paper_ids)
    return f"message {outcome.detail}, {papers} paper{'' if papers == 1 else 's'}"
