"""The one door to summaries: cache, in-flight sharing, limits, fallback, cleaning and bookkeeping.

Policy, in order: a cached LLM summary is served as is (from memory, or from the database and cleaned again on
the way out); an identical request already in flight is joined rather than repeated; otherwise the LLM is asked,
within a concurrency limit, unless the circuit breaker is open or the day's token budget is spent. Whenever the
LLM is not configured or does not deliver, the reader gets the offline extractive summary at once. Offline
summaries are not cached: they cost nothing to redo, and caching them would keep the LLM's version out once it
is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UsageError
from bot.ingestion.paper_checks import clean_text
from bot.papers import collapse
from bot.summaries.circuit_breaker import CircuitBreaker, MonotonicClock
from bot.summaries.extractive_summarizer import ExtractiveSummarizer
from bot.summaries.kinds import (
    MAX_QUESTION_CHARS,
    Draft,
    PaperText,
    Summary,
    SummaryKind,
    SummaryRequest,
    question_key,
)
from bot.summaries.output_cleaner import clean_output
from bot.summaries.prompts import PROMPT_VERSION
from bot.summaries.summarizer import Summarizer, SummaryFailure
from bot.summaries.token_budget import DailyTokenBudget
from storage.database import Database
from storage.models import Paper
from storage.summary_store import (
    SummaryKey,
    cached_text,
    count_event,
    last_refusal,
    record_call,
    save_summary,
    tokens_spent,
)

NO_SUMMARY = "No summary available."
_OFFLINE_MEMO_SIZE = 4096
# Request counters are written in batches: one write per cache hit would make SQLite's single writer the
# bottleneck of a digest fanned out to many channels.
FLUSH_EVERY = 100
FLUSH_AFTER = 30.0
# Cached summaries also kept in memory (they never change under their key), so a digest fanned out to many
# channels costs no database round trip per channel.
MEMO_SIZE = 4096
# A paper whose abstract talks the model into a mention (or into quoting its prompt, or refusing) will do it
# again: it is not sent again for this long, by any process. A call that failed in our own client waits a shorter
# while. An outage (timeouts, 5xx, 429) is the circuit breaker's business; but each process has its own breaker,
# so the paper a call failed on also waits out the breaker's cool-down in every process: a failing server costs
# one request's attempts per paper and kind, not one request's attempts per process.
REFUSAL_COOLDOWN = timedelta(hours=6)
FAILURE_COOLDOWN = timedelta(minutes=10)
_CONTENT_REFUSALS = ("rejected", "declined")
_FAILURES = ("error",)
_OUTAGES = ("server error", "rate-limited", "timeout", "unreachable", "refused")
log = logging.getLogger(__name__)


def paper_text(paper: Paper) -> PaperText:
    return PaperText(paper_id=paper.id, title=paper.title, abstract=paper.abstract, arxiv_id=paper.arxiv_id)


def make_request(paper: PaperText, kind: SummaryKind | str, question: str | None = None) -> SummaryRequest:
    """A validated request: a question means kind=answer, and it must be short enough to be a question."""
    if question is not None:
        # As paper text is cleaned: a control character echoed in "Q: …" could drive a terminal, and an invisible one
        # splits a word (and the answer cache's key) where the asker typed one.
        question = collapse(clean_text(question))
        if not question:
            raise UsageError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise UsageError(f"the question is too long (at most {MAX_QUESTION_CHARS} characters)")
        return SummaryRequest(paper, SummaryKind.ANSWER, question)
    try:
        chosen = SummaryKind(kind)
    except ValueError:
        raise UsageError(f"unknown summary kind {str(kind)[:20]!r} (use tldr or summary)") from None
    if chosen is SummaryKind.ANSWER:
        raise UsageError("an answer needs a question")
    return SummaryRequest(paper, chosen)


class SummaryService:
    """Shared by every channel and command of one process; build it once in the composition root."""

    def __init__(
        self,
        db: Database,
        *,
        llm: Summarizer | None,
        today: Callable[[], date],
        offline: ExtractiveSummarizer | None = None,
        breaker: CircuitBreaker | None = None,
        concurrency: int = 4,
        daily_token_budget: int | None = None,
        clock: MonotonicClock = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        refusal_cooldown: timedelta = REFUSAL_COOLDOWN,
        failure_cooldown: timedelta = FAILURE_COOLDOWN,
    ) -> None:
        self.db = db
        self.llm = llm
        self.offline = offline or ExtractiveSummarizer()
        self.breaker = breaker or CircuitBreaker(clock=clock)
        self.budget = DailyTokenBudget(daily_token_budget, today=today, spent_on=self._tokens_spent)
        self._today = today
        self._clock = clock
        self._now = now
        self._refusal_cooldown = refusal_cooldown
        self._failure_cooldown = failure_cooldown
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._inflight: dict[SummaryKey, asyncio.Task[Summary]] = {}
        self._pending: Counter[tuple[date, str]] = Counter()
        self._memo: OrderedDict[SummaryKey, Summary] = OrderedDict()
        self._offline_memo: dict[tuple[SummaryRequest, str], Summary] = {}
        self._flushing: asyncio.Task[None] | None = None
        self._last_flush = clock()

    @property
    def model(self) -> str | None:
        return self.llm.model if self.llm is not None else None

    def offline_tldr(self, paper: PaperText) -> Summary:
        """The extractive TL;DR right now, for callers that cannot wait for the LLM (a digest on deadline)."""
        return self._offline(make_request(paper, SummaryKind.TLDR), "LLM too slow for the digest deadline")

    async def tldr(self, paper: PaperText) -> Summary:
        return await self.get(SummaryRequest(paper, SummaryKind.TLDR))

    async def summary(self, paper: PaperText) -> Summary:
        return await self.get(SummaryRequest(paper, SummaryKind.SUMMARY))

    async def answer(self, paper: PaperText, question: str) -> Summary:
        return await self.get(make_request(paper, SummaryKind.ANSWER, question))

    async def get(self, request: SummaryRequest) -> Summary:
        if self.llm is None:
            await self._count("offline")
            return self._offline(request, "no LLM configured")
        key = SummaryKey(request.paper.paper_id, request.kind.value, self.llm.model, PROMPT_VERSION,
                         question_key(request.question), request.paper.fingerprint())
        remembered = self._memo.get(key)
        if remembered is not None:
            self._memo.move_to_end(key)
            await self._count("cached")
            return remembered
        running = self._inflight.get(key)
        if running is not None:
            shared = await asyncio.shield(running)
            await self._count("shared")
            return replace(shared, cached=True) if shared.model is not None else shared
        task = asyncio.create_task(self._resolve(key, request))
        self._inflight[key] = task

        def forget(done: asyncio.Task[Summary]) -> None:
            if self._inflight.get(key) is done:
                del self._inflight[key]

        task.add_done_callback(forget)
        # Shielded: a caller that gives up (a cancelled Slack handler) must not cancel the others' call.
        return await asyncio.shield(task)

    # ------------------------------------------------------------------------------------------ internals

    async def _resolve(self, key: SummaryKey, request: SummaryRequest) -> Summary:
        async with self.db.session() as session:
            text = await cached_text(session, key)
        if text is not None:
            await self._count("cached")
            return self._remember(key, self._finish(request, text, model=key.model, cached=True))
        return await self._generate(key, request)

    def _remember(self, key: SummaryKey, summary: Summary) -> Summary:
        self._memo[key] = replace(summary, cached=True)
        if len(self._memo) > MEMO_SIZE:
            self._memo.popitem(last=False)
        return summary

    async def _refused_recently(self, key: SummaryKey, request: SummaryRequest) -> bool:
        if request.kind is SummaryKind.ANSWER:
            return False  # another question may well get a clean answer
        now = self._now()
        async with self.db.session() as session:
            for outcomes, cooldown in ((_CONTENT_REFUSALS, self._refusal_cooldown),
                                       (_FAILURES, self._failure_cooldown),
                                       (_OUTAGES, timedelta(seconds=self.breaker.cooldown))):
                if await last_refusal(session, paper_id=request.paper.paper_id, kind=key.kind, model=key.model,
                                      prompt_version=key.prompt_version, outcomes=outcomes,
                                      since=now - cooldown) is not None:
                    return True
        return False

    async def _generate(self, key: SummaryKey, request: SummaryRequest) -> Summary:
        if await self._refused_recently(key, request):
            return await self._fall_back(request, "refused earlier", "the LLM gave this paper no usable reply lately")
        if self.breaker.rejects():
            return await self._fall_back(request, "circuit open", "LLM paused after repeated failures")
        if await self.budget.exhausted():
            return await self._fall_back(request, "budget", "daily token budget used up")
        async with self._slots:
            if not self.breaker.try_acquire():  # it opened while we queued
                return await self._fall_back(request, "circuit open", "LLM paused after repeated failures")
            started = self._clock()
            try:
                draft = await self._call(request)
            except SummaryFailure as failure:
                if failure.reason in _CONTENT_REFUSALS:  # the server works; this paper's text is the trouble
                    self.breaker.record_success()
                else:
                    self.breaker.record_failure(outage=failure.outage)
                await self._log_failure(request, failure, started)
                return self._offline(request, failure.phrase)
            self.breaker.record_success()
        return await self._store(key, request, draft, started)

    async def _call(self, request: SummaryRequest) -> Draft:
        assert self.llm is not None
        try:
            return await self.llm.summarize(request)
        except SummaryFailure as failure:
            log.warning("%s for paper %s (%s); serving the offline summary", failure, request.paper.paper_id,
                        request.kind.value)
            raise
        except asyncio.CancelledError:
            self.breaker.release()
            raise
        except Exception as exc:  # a bug in the client or SDK must not cost the reader their summary
            log.exception("unexpected LLM failure for paper %s", request.paper.paper_id)
            raise SummaryFailure("error", outage=False, detail=type(exc).__name__) from exc

    async def _store(self, key: SummaryKey, request: SummaryRequest, draft: Draft, started: float) -> Summary:
        assert self.llm is not None
        cleaned = clean_output(draft.text, request.kind, arxiv_id=request.paper.arxiv_id)
        # The model answered, but with a mention in it (it was talked into it by the abstract) or with nothing
        # left after cleaning: the offline summary is safer than whatever remains of that text.
        outcome = "rejected" if cleaned.mentions_removed or not cleaned.text else "ok"
        await self.budget.spend(draft.prompt_tokens + draft.completion_tokens)
        day = self._today()
        async with self.db.session() as session:
            await record_call(session, paper_id=request.paper.paper_id, kind=request.kind.value, model=key.model,
                              outcome=outcome, prompt_tokens=draft.prompt_tokens,
                              completion_tokens=draft.completion_tokens, latency_ms=self._elapsed_ms(started),
                              attempts=draft.attempts, day=day, prompt_version=key.prompt_version,
                              at=self._now())
            if outcome == "ok":
                stored = await save_summary(session, key, cleaned.text, question=request.question,
                                            prompt_tokens=draft.prompt_tokens,
                                            completion_tokens=draft.completion_tokens)
            self._pending[(day, "generated" if outcome == "ok" else "fallback:rejected")] += 1
            await self._write_counts(session)
        if outcome != "ok":
            return self._offline(request, "LLM reply rejected")
        return self._remember(key, self._finish(request, stored, model=key.model, cached=False))

    async def _log_failure(self, request: SummaryRequest, failure: SummaryFailure, started: float) -> None:
        assert self.llm is not None
        await self.budget.spend(failure.prompt_tokens + failure.completion_tokens)
        day = self._today()
        async with self.db.session() as session:
            await record_call(session, paper_id=request.paper.paper_id, kind=request.kind.value,
                              model=self.llm.model, outcome=failure.reason, prompt_tokens=failure.prompt_tokens,
                              completion_tokens=failure.completion_tokens, latency_ms=self._elapsed_ms(started),
                              attempts=failure.attempts, day=day, prompt_version=PROMPT_VERSION, at=self._now())
            self._pending[(day, f"fallback:{failure.reason}")] += 1
            await self._write_counts(session)

    async def _fall_back(self, request: SummaryRequest, event: str, reason: str) -> Summary:
        await self._count(f"fallback:{event}")
        return self._offline(request, reason)

    def _offline(self, request: SummaryRequest, reason: str) -> Summary:
        # Deterministic, so remembered in memory (never in the database: an LLM summary should replace it).
        memo_key = (request, reason)
        if (known := self._offline_memo.get(memo_key)) is not None:
            return known
        text = self.offline.write(request)
        summary = self._finish(request, text, model=None, cached=False, reason=reason)
        if not summary.text:
            title = clean_output(request.paper.title, SummaryKind.TLDR, arxiv_id=request.paper.arxiv_id).text
            summary = replace(summary, text=title or NO_SUMMARY)
        self._offline_memo[memo_key] = summary
        if len(self._offline_memo) > _OFFLINE_MEMO_SIZE:
            self._offline_memo.pop(next(iter(self._offline_memo)))
        return summary

    def _finish(self, request: SummaryRequest, text: str, *, model: str | None, cached: bool,
                reason: str | None = None) -> Summary:
        cleaned = clean_output(text, request.kind, arxiv_id=request.paper.arxiv_id)
        return Summary(request.paper.paper_id, request.kind, cleaned.text, model, cached, reason)

    async def _count(self, event: str) -> None:
        self._pending[(self._today(), event)] += 1
        due = self._pending.total() >= FLUSH_EVERY or self._clock() - self._last_flush >= FLUSH_AFTER
        if due and (self._flushing is None or self._flushing.done()):
            # In the background: a reader's TL;DR should not wait for our bookkeeping.
            self._last_flush = self._clock()
            self._flushing = asyncio.create_task(self._flush_quietly())

    async def _flush_quietly(self) -> None:
        try:
            await self.flush()
        except Exception:  # the counters stay pending and are retried at the next flush
            log.warning("could not write summary counters; will retry", exc_info=True)

    async def flush(self) -> None:
        """Write the request counters gathered so far; `close` does it when the process ends."""
        if self._pending:
            async with self.db.session() as session:
                await self._write_counts(session)

    async def close(self) -> None:
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
        await self.flush()

    async def _write_counts(self, session: AsyncSession) -> None:
        """Move the pending counters into this transaction; put them back if it fails, so nothing is lost."""
        pending, self._pending = self._pending, Counter()
        self._last_flush = self._clock()
        try:
            for (day, event), n in sorted(pending.items()):  # one order everywhere: no deadlocks between replicas
                await count_event(session, day, event, n)
        except BaseException:
            self._pending.update(pending)
            raise

    async def _tokens_spent(self, day: date) -> int:
        async with self.db.session() as session:
            return await tokens_spent(session, day)

    def _elapsed_ms(self, started: float) -> int:
        return max(0, round((self._clock() - started) * 1000))
