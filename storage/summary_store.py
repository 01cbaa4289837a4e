"""Reading and writing the summary cache, the LLM call log and the request counters.

Writes are conflict-tolerant upserts: two processes (or two bot replicas) that summarise the same paper at
the same moment both succeed, and both end up serving the one row that was stored first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import dialect_name
from storage.summary_models import LlmCall, StoredSummary, SummaryCounter


@dataclass(frozen=True)
class SummaryKey:
    """Everything that makes two summaries different; `text_hash` changes when a new arXiv version rewrites
    the abstract, `question_hash` is empty except for answers."""

    paper_id: int
    kind: str
    model: str
    prompt_version: str
    question_hash: str
    text_hash: str

    def where(self) -> list[Any]:
        return [StoredSummary.paper_id == self.paper_id, StoredSummary.kind == self.kind,
                StoredSummary.model == self.model, StoredSummary.prompt_version == self.prompt_version,
                StoredSummary.question_hash == self.question_hash, StoredSummary.text_hash == self.text_hash]


async def cached_text(session: AsyncSession, key: SummaryKey) -> str | None:
    stmt = select(StoredSummary.text).where(*key.where()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def save_summary(session: AsyncSession, key: SummaryKey, text: str, *, question: str | None,
                       prompt_tokens: int, completion_tokens: int) -> str:
    """Store unless someone stored this key first; either way return the text now in the cache."""
    values = {"paper_id": key.paper_id, "kind": key.kind, "model": key.model, "prompt_version": key.prompt_version,
              "question_hash": key.question_hash, "text_hash": key.text_hash, "question": question, "text": text,
              "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
    conflict = ["paper_id", "kind", "model", "prompt_version", "question_hash", "text_hash"]
    if dialect_name(session) == "postgresql":
        await session.execute(postgresql.insert(StoredSummary).values(values)
                              .on_conflict_do_nothing(index_elements=conflict))
    else:
        await session.execute(sqlite.insert(StoredSummary).values(values).on_conflict_do_nothing(
            index_elements=conflict))
    stored = await cached_text(session, key)
    return stored if stored is not None else text


async def record_call(session: AsyncSession, *, paper_id: int | None, kind: str, model: str, outcome: str,
                      prompt_tokens: int, completion_tokens: int, latency_ms: int, attempts: int, day: date,
                      prompt_version: str = "", at: datetime | None = None) -> None:
    call = LlmCall(paper_id=paper_id, kind=kind, model=model, outcome=outcome, prompt_tokens=prompt_tokens,
                   completion_tokens=completion_tokens, latency_ms=latency_ms, attempts=attempts, day=day,
                   prompt_version=prompt_version)
    if at is not None:
        call.created_at = at
    session.add(call)
    await session.flush()


async def last_refusal(session: AsyncSession, *, paper_id: int, kind: str, model: str, prompt_version: str,
                       outcomes: tuple[str, ...], since: datetime) -> datetime | None:
    """When the LLM last gave this paper and kind nothing usable (a reply rejected for mentions), if after
    `since`: such a paper is not sent again until the cool-down ends, by any process."""
    stmt = select(func.max(LlmCall.created_at)).where(
        LlmCall.paper_id == paper_id, LlmCall.kind == kind, LlmCall.model == model,
        LlmCall.prompt_version == prompt_version, LlmCall.outcome.in_(outcomes), LlmCall.created_at >= since)
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_event(session: AsyncSession, day: date, event: str, n: int = 1) -> None:
    values = {"day": day, "event": event, "count": n}
    table = SummaryCounter.__table__
    if dialect_name(session) == "postgresql":
        pg = postgresql.insert(SummaryCounter).values(values)
        await session.execute(pg.on_conflict_do_update(
            index_elements=["day", "event"], set_={"count": table.c.count + pg.excluded.count}))
    else:
        lite = sqlite.insert(SummaryCounter).values(values)
        await session.execute(lite.on_conflict_do_update(
            index_elements=["day", "event"], set_={"count": table.c.count + lite.excluded.count}))


async def tokens_spent(session: AsyncSession, day: date) -> int:
    stmt = select(func.coalesce(func.sum(LlmCall.prompt_tokens + LlmCall.completion_tokens), 0)).where(
        LlmCall.day == day)
    return int((await session.execute(stmt)).scalar_one())


@dataclass
class CallTotals:
    calls: int = 0
    ok: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def average_latency_ms(self) -> int:
        return self.latency_ms // self.calls if self.calls else 0


@dataclass
class SummaryStats:
    """What `paperboy stats` shows: calls and tokens (all time, today, per model) and how requests were served."""

    total: CallTotals
    today: CallTotals
    by_model: dict[str, CallTotals]
    requests: dict[str, int]
    stored: int

    @property
    def request_count(self) -> int:
        return sum(self.requests.values())

    @property
    def served_without_new_call(self) -> int:
        return self.requests.get("cached", 0) + self.requests.get("shared", 0)

    @property
    def hit_rate(self) -> float | None:
        asked = self.request_count
        return self.served_without_new_call / asked if asked else None


def _add(totals: CallTotals, outcome: str, calls: int, prompt: int, completion: int, latency: int) -> None:
    totals.calls += calls
    totals.ok += calls if outcome == "ok" else 0
    totals.prompt_tokens += prompt
    totals.completion_tokens += completion
    totals.latency_ms += latency
    totals.outcomes[outcome] = totals.outcomes.get(outcome, 0) + calls


async def summary_stats(session: AsyncSession, today: date) -> SummaryStats:
    stats = SummaryStats(CallTotals(), CallTotals(), {}, {}, 0)
    stmt = select(LlmCall.model, LlmCall.outcome, LlmCall.day, func.count(), func.sum(LlmCall.prompt_tokens),
                  func.sum(LlmCall.completion_tokens), func.sum(LlmCall.latency_ms)).group_by(
        LlmCall.model, LlmCall.outcome, LlmCall.day)
    for model, outcome, day, calls, prompt, completion, latency in (await session.execute(stmt)).all():
        row = (outcome, int(calls), int(prompt or 0), int(completion or 0), int(latency or 0))
        _add(stats.total, *row)
        _add(stats.by_model.setdefault(model, CallTotals()), *row)
        if day == today:
            _add(stats.today, *row)
    counters = select(SummaryCounter.event, func.sum(SummaryCounter.count)).group_by(SummaryCounter.event)
    stats.requests = {event: int(n or 0) for event, n in (await session.execute(counters)).all()}
    stats.stored = int((await session.execute(select(func.count(StoredSummary.id)))).scalar_one())
    return stats
