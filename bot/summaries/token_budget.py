"""An optional cap on LLM tokens per day; once spent, summaries come from the offline summarizer.

The day's spending is read from the recorded calls the first time each day is asked about, so a restart does
not grant a fresh budget. After that it is kept in memory: several processes sharing one database may
together overshoot by what they spend between restarts, and calls already in flight when the cap is reached
still finish, which is an acceptable blur for a cost guard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date


class DailyTokenBudget:
    def __init__(self, limit: int | None, *, today: Callable[[], date],
                 spent_on: Callable[[date], Awaitable[int]]) -> None:
        self.limit = limit if limit and limit > 0 else None
        self._today = today
        self._spent_on = spent_on
        self._day: date | None = None
        self._spent = 0

    async def _sync(self) -> None:
        day = self._today()
        if day != self._day:
            self._day = day
            self._spent = await self._spent_on(day)

    async def exhausted(self) -> bool:
        if self.limit is None:
            return False
        await self._sync()
        return self._spent >= self.limit

    async def spend(self, tokens: int) -> None:
        if self.limit is None or tokens <= 0:
            return
        await self._sync()
        self._spent += tokens

    async def remaining(self) -> int | None:
        if self.limit is None:
            return None
        await self._sync()
        return max(self.limit - self._spent, 0)
