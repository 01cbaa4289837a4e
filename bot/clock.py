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


# Names the zone database answers to that are no place's clock. Refused for settings made now (`new_timezone`);
# one stored before still loads (`load_timezone`), so its digest keeps coming.
_NOT_A_PLACE = {"localtime", "posixrules", "Factory"}  # the host's own zone (another host reads another); no zones
_ABBREVIATIONS = {"EST", "MST", "HST"}  # fixed offsets named like regions: "EST" is New York's winter only
_ETC_OFFSET = re.compile(r"Etc/GMT([+-])(\d+)")


def new_timezone(name: str) -> ZoneInfo:
    """The zone a person or operator sets now: `load_timezone`, and also a place's clock. "EST", "Etc/GMT+5" (which
    is UTC-5: POSIX reverses the sign), "localtime", "posix/Europe/Paris" or "right/UTC" (leap seconds) load, and
    each would post at another hour than the one asked for, now or for half the year."""
    zone = load_timezone(name)
    key = zone.key
    if key in _NOT_A_PLACE or key not in _zone_names().values():
        raise UsageError(f"unknown timezone {name.strip()[:64]!r} (use a name like Europe/Paris or UTC)")
    offset = _ETC_OFFSET.fullmatch(key)
    if key in _ABBREVIATIONS or (offset is not None and int(offset.group(2)) != 0):
        real = f" (it is UTC{'-' if offset.group(1) == '+' else '+'}{int(offset.group(2))})" if offset else ""
        raise UsageError(f"{name.strip()!r} is a fixed offset{real}; use your region's zone name (e.g. Europe/Paris "
                         "or America/New_York), which follows daylight saving time")
    return zone


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every zone the system knows, by its lower-case name (read once, only after an exact lookup failed)."""
    return {zone.lower(): zone for zone in available_timezones()}


def local_today(clock: Clock, timezone: str = "UTC") -> date:
    return clock().astimezone(load_timezone(timezone)).date()
