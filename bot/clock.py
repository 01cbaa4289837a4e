"""Time as a dependency: everything that asks "what day is it" gets a clock, so tests can set the hour."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import UsageError

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(moment: datetime) -> Clock:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return lambda: aware


_OFFSET = re.compile(r"(?:utc|gmt)?\s*[+-]\s*\d{1,2}(?::?\d{2})?", re.IGNORECASE)


def load_timezone(name: str) -> ZoneInfo:
    """A clear one-line error for a bad timezone instead of a ZoneInfo traceback. Names are matched regardless of
    case ("europe/paris", "utc"): zone files are looked up case-sensitively, and people type zones as they say them.
    `str()` of the result is the zone's own spelling, which is what gets stored."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64 or ".." in cleaned or cleaned.startswith("/"):
        raise UsageError(f"unknown timezone {cleaned[:64]!r} (use a name like Europe/Paris or UTC)")
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    spelled = _zone_names().get(cleaned.lower())
    if spelled is not None:
        return ZoneInfo(spelled)
    if _OFFSET.fullmatch(cleaned):
        # A fixed offset would post an hour off for half the year wherever clocks change: ask for the place.
        raise UsageError(f"{cleaned!r} is a fixed offset; use your region's zone name (e.g. Europe/Paris or "
                         "America/New_York), which follows daylight saving time")
    raise UsageError(f"unknown timezone {cleaned!r} (use a name like Europe/Paris or UTC)")


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every zone the system knows, by its lower-case name (read once, only after an exact lookup failed)."""
    return {zone.lower(): zone for zone in available_timezones()}


def local_today(clock: Clock, timezone: str = "UTC") -> date:
    return clock().astimezone(load_timezone(timezone)).date()
