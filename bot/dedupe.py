"""Each platform event handled once: one async interface, in memory (one process) or in the database (many).

Platforms re-send an event when they think delivery failed (Slack's `X-Slack-Retry-Num`); every adapter asks
a `Deduper` before handling one, and never needs to know which kind it was given.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from storage import event_store
from storage.database import Database

Clock = Callable[[], float]


class Deduper(Protocol):
    async def first_time(self, key: str) -> bool:
        """True exactly once per key (within the deduper's memory); False for a repeat."""
        ...


class EventDeduper:
    """Event ids seen lately, in memory, bounded and time-limited: platforms retry within minutes. With several
    HTTP processes behind a load balancer a retry can reach another process; use `DatabaseEventDeduper` then."""

    def __init__(self, *, ttl: float = 3600.0, max_size: int = 20_000, clock: Clock = time.monotonic) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._ttl = ttl
        self._max = max_size
        self._clock = clock

    async def first_time(self, key: str) -> bool:
        now = self._clock()
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at < self._ttl and len(self._seen) < self._max:
                break
            self._seen.pop(oldest)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


class DatabaseEventDeduper:
    """The same promise across processes: with several HTTP replicas behind a load balancer, a retried event
    may reach any of them, and the shared database lets exactly one handle it."""

    def __init__(self, db: Database, *, namespace: str = "slack") -> None:
        self.db = db
        self.namespace = namespace

    async def first_time(self, key: str) -> bool:
        return await event_store.first_time(self.db, f"{self.namespace}:{key}")
