"""What command handlers need, handed in once by the composition root (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from bot.clock import Clock, local_today
from bot.feedback.model_cache import ModelCache
from bot.summaries.summary_service import SummaryService
from bot.topics.topic_service import TopicMatcher
from storage.database import Database

if TYPE_CHECKING:
    from bot.topics.semantic import SemanticLayer


@dataclass
class CoreServices:
    db: Database
    matcher: TopicMatcher
    summaries: SummaryService
    clock: Clock
    default_timezone: str = "UTC"
    digest_max_items: int = 10
    semantic: SemanticLayer | None = None  # the optional semantic layer; None is the offline path
    # Seconds a list (/papers today, top) waits for LLM TL;DRs before offline ones stand in, as digests do: an
    # interaction's "thinking…" must not last as long as the LLM's timeout. None: wait for them all.
    tldr_deadline: float | None = None
    # Learned models parsed by this process, kept between digest runs while nobody refits them.
    learned_models: ModelCache = field(default_factory=ModelCache)

    def today(self, timezone: str | None = None) -> date:
        return local_today(self.clock, timezone or self.default_timezone)
