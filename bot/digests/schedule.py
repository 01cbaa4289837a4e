"""When a channel's digest is due: its own local time, days of the week, and a grace period for catch-up.

Pure functions of (settings, now), so tests can ask "is it due at 08:59? at 09:00? after a 5-hour outage?"
without a scheduler or a clock that moves.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from bot.clock import load_timezone
from bot.errors import UsageError

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# The words the confirmations themselves use ("at 09:00 UTC (weekdays)"), so repeating one back works.
ALIASES = {"weekdays": "mon-fri", "weekday": "mon-fri", "weekends": "sat-sun", "weekend": "sat-sun",
           "daily": "mon-sun", "everyday": "mon-sun", "every-day": "mon-sun"}


def _day(word: str) -> int | None:
    """A day as people write it: "mon", "Monday", "tues", "thurs" (a prefix of its name, three letters or more)."""
    if len(word) >= 3:
        for number, name in enumerate(_FULL):
            if name.startswith(word):
                return number
    return None


def canonical_days(spec: str) -> str:
    """The spelling a digest's days are stored in: lower case, ASCII hyphens (phones turn "-" into "–"), the
    aliases spelled out ("weekdays" → "mon-fri")."""
    cleaned = spec.strip().lower().replace("–", "-").replace("—", "-").replace(" ", "")
    return ALIASES.get(cleaned, cleaned)


def parse_days(spec: str) -> frozenset[int]:
    """"mon-fri", "mon-sun", "mon,wed,fri", "sat-sun", "weekdays", "Monday–Friday" → weekday numbers (Monday 0)."""
    found: set[int] = set()
    for part in canonical_days(spec).split(","):
        if not part:
            continue
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day(first), _day(last)
            if a is None or b is None:
                raise UsageError(f"unknown days {spec[:30]!r}; use e.g. mon-fri, weekends or mon,wed,fri")
            found.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        elif (number := _day(part)) is not None:
            found.add(number)
        else:
            raise UsageError(f"unknown days {spec[:30]!r}; use e.g. mon-fri, weekends or mon,wed,fri")
    if not found:
        raise UsageError("no days given; use e.g. mon-fri")
    return frozenset(found)


def normal_days(spec: str) -> str:
    """The one spelling of a set of days, however it was typed: each day once, Monday first, a run of days as a
    range ("sat,sat,sun" → "sat-sun", "fri,mon,wed,mon" → "mon,wed,fri", "fri-mon" → "mon,fri-sun"). Stored so,
    and shown so: a list echoed as typed read as if the repeats or the order meant something."""
    days = sorted(parse_days(spec))
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(_DAYS[run[0]] if len(run) == 1 else f"{_DAYS[run[0]]}-{_DAYS[run[-1]]}" for run in runs)


def shown_days(spec: str) -> str:
    """`normal_days` for a stored value, which an earlier version kept as typed; one no longer understood as it is."""
    try:
        return normal_days(spec)
    except UsageError:
        return spec


def looks_like_days(word: str) -> bool:
    """Whether a word of a digest command means days (checked by `parse_days`) rather than a timezone."""
    cleaned = canonical_days(word)
    return cleaned in ALIASES.values() or (re.fullmatch(r"[a-z,\-]+", cleaned) is not None
                                           and _day(cleaned[:3]) is not None)


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
