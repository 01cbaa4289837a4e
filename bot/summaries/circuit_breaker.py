"""Stops calling an LLM that is down, so an outage costs one timeout instead of one per paper.

Closed: calls go through. After enough consecutive failures it opens: calls are refused at once (the service
falls back) until a cool-down has passed on the injected clock. Then one probe call is let through
(half-open); its success closes the breaker, its failure opens it for another cool-down.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MonotonicClock = Callable[[], float]


class CircuitBreaker:
    """Not thread-safe by design: it lives on one event loop, where check-and-set cannot interleave."""

    def __init__(self, *, failure_threshold: int = 3, cooldown: float = 60.0,
                 clock: MonotonicClock = time.monotonic) -> None:
        self.failure_threshold = max(1, failure_threshold)
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self._opened_at >= self.cooldown else "open"

    def rejects(self) -> bool:
        """True when a call now would be refused; asks without claiming the half-open probe."""
        state = self.state
        return state == "open" or (state == "half-open" and self._probing)

    def try_acquire(self) -> bool:
        """Permission for one call; in half-open state only the first caller gets it (the probe)."""
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self._probing:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self, *, outage: bool = False) -> None:
        """`outage`: the failure already says the service is down (a full timeout, retries exhausted,
        unreachable), so it opens the breaker at once instead of counting towards the threshold."""
        self._failures = self.failure_threshold if outage else self._failures + 1
        self._probing = False
        if self._failures >= self.failure_threshold:
            self._opened_at = self._clock()

    def release(self) -> None:
        """A call that ended without a verdict (cancelled) gives the probe slot back."""
        self._probing = False
