"""An injected monotonic clock for tests: sleeping advances it instantly and is recorded."""

from __future__ import annotations

import asyncio


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Sleeps:
    """An injected sleep that keeps time still: records how long the code wanted to wait and waits `pause`
    instead (0: only lets other tasks run; a little more where the test waits on real I/O meanwhile)."""

    def __init__(self, pause: float = 0.0) -> None:
        self.calls: list[float] = []
        self.pause = pause

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(self.pause)
