"""The one interface every summarizer implements, and the failure an LLM summarizer reports.

The service only knows this interface, so a different backend (another API, a local model) is one class, and
the fallback rules stay in one place instead of being repeated in each backend.
"""

from __future__ import annotations

from typing import Protocol

from bot.errors import PaperboyError
from bot.summaries.kinds import Draft, SummaryRequest


class Summarizer(Protocol):
    """Turns a title and abstract into draft text; the service cleans it, caches it and decides on fallbacks."""

    @property
    def model(self) -> str:
        """The name that goes into the cache key: a different model means a different summary."""
        ...

    async def summarize(self, request: SummaryRequest) -> Draft: ...


class SummaryFailure(PaperboyError):
    """The LLM gave nothing usable. `outage` tells the circuit breaker whether the service itself looks down
    (timeouts, unreachable, 5xx/429 after retries) or merely answered badly this once (malformed or empty)."""

    def __init__(self, reason: str, *, outage: bool, prompt_tokens: int = 0, completion_tokens: int = 0,
                 attempts: int = 1, detail: str = "") -> None:
        self.reason = reason
        self.outage = outage
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.attempts = attempts
        super().__init__(self.phrase + (f": {detail}" if detail else ""))

    @property
    def phrase(self) -> str:
        """What a reader is told next to the offline summary they got instead."""
        return _PHRASES.get(self.reason, f"LLM {self.reason}")


_PHRASES = {
    "timeout": "LLM timed out", "unreachable": "LLM unreachable", "refused": "LLM refused the request",
    "malformed": "LLM reply malformed", "empty": "LLM reply empty", "unparseable": "LLM reply unparseable",
    "error": "LLM error", "declined": "LLM declined to summarise the paper", "rejected": "LLM reply rejected",
}
