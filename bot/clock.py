"""Time as a dependency: everything that asks "what day is it" gets a clock, so tests can set the hour."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import UsageError

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(moment: datetime) -> Clock:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return lambda: aware


def load_timezone(name: str) -> ZoneInfo:
    """A clear one-line error for a bad timezone instead of a ZoneInfo traceback."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64 or ".." in cleaned or cleaned.startswith("/"):
        raise UsageError(f"unknown timezone {cleaned[:64]!r} (use a name like Europe/Paris or UTC)")
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(f"unknown timezone {cleaned!r} (use a name like Europe/Paris or UTC)") from None


def local_today(clock: Clock, timezone: str = "UTC") -> date:
    return clock().astimezone(load_timezone(timezone)).date()
