"""Waiting for something a test started elsewhere (a fake server's thread, a scheduler's job) to happen: polled
with a generous deadline, never a fixed sleep, since CI machines are shared and may be slow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def wait_for(check: Callable[[], Any], within: float = 60.0) -> Any:
    """`check()`'s first truthy value; an AssertionError once `within` seconds have passed without one."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := check():
            return value
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out after {within:.0f} s waiting for {getattr(check, '__name__', 'a condition')}")
