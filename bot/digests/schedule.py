"""When a channel's digest is due: its own local time, days of the week, and a grace period for catch-up.

Pure functions of (settings, now), so tests can ask "is it due at 08:59? at 09:00? after a 5-hour outage?"
without a scheduler or a clock that moves.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.clock import load_timezone
from bot.errors import UsageError

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_days(spec: str) -> frozenset[int]:
    """"mon-fri", "mon-sun", "mon,wed,fri", "sat-sun" → weekday numbers (Monday is 0)."""
    found: set[int] = set()
    for part in spec.lower().replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in _DAYS or last not in _DAYS:
                raise UsageError(f"unknown days {spec[:30]!r}; use e.g. mon-fri or mon,wed,fri")
            a, b = _DAYS.index(first), _DAYS.index(last)
            found.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        elif part in _DAYS:
            found.add(_DAYS.index(part))
        else:
            raise UsageError(f"unknown days {spec[:30]!r}; use e.g. mon-fri or mon,wed,fri")
    if not found:
        raise UsageError("no days given; use e.g. mon-fri")
    return frozenset(found)


def scheduled_at(day: date, at: str, timezone: str) -> datetime:
    hour, minute = (int(x) for x in at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=load_timezone(timezone))


def due_day(now: datetime, at: str, timezone: str, days: str, grace: timedelta) -> date | None:
    """The local digest day whose scheduled time has passed less than `grace` ago, if any."""
    local_today = now.astimezone(load_timezone(timezone)).date()
    weekdays = parse_days(days)
    for day in (local_today, local_today - timedelta(days=1)):
        if day.weekday() not in weekdays:
            continue
        start = scheduled_at(day, at, timezone)
        if start <= now <= start + grace:
            return day
    return None


def next_run(now: datetime, at: str, timezone: str, days: str) -> datetime:
    weekdays = parse_days(days)
    local_today = now.astimezone(load_timezone(timezone)).date()
    for offset in range(0, 8):
        day = local_today + timedelta(days=offset)
        if day.weekday() in weekdays and (moment := scheduled_at(day, at, timezone)) > now:
            return moment
    raise AssertionError("some day within a week is a digest day")
