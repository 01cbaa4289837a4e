"""Follow-ups, end to end: baseline what was posted, refresh it from the sources once a day, detect events
once per paper, and reply once per thread and day in each digest thread that posted the paper.

The refresh is claimed per day like a digest (one process fetches; a failure is retried with backoff), and so
is each thread's reply: a (thread, day) claim whose completion records, in the same transaction, which events
the thread was told — an event is never told twice in a thread, and a thread gets at most one reply a day.
A failing thread is recorded with backoff and never holds up the others; follow-ups run in their own
scheduler job, so they never hold up a digest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.clock import Clock, load_timezone, local_today
from bot.digests.schedule import parse_days
from bot.errors import DeliveryError, PaperboyError
from bot.followups.changes import Snapshot, code_link, detect, snapshot
from bot.followups.followup_message import PaperNews, render_followup
from bot.followups.poster import FollowupPoster, ThreadTarget
from bot.ingestion.ingest_service import Ingestor
from storage import followup_store
from storage.database import Database
from storage.destination_models import Destination
from storage.destination_store import as_value, get_destination
from storage.followup_store import DigestThread
from storage.models import Paper

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FollowupSettings:
    lease_seconds: float = 600.0
    hf_days: int = 7  # Hugging Face listings re-read: the days of papers posted this recently
    arxiv_days: int = 30  # arXiv re-read for papers posted this recently
    arxiv_batch: int = 100  # ids per arXiv `id_list` request
    pending_days: int = 2  # events this recent are still told (a channel's daytime may come a day later)
    day_ends: time = time(21, 0)  # no follow-up after this local time (unless the digest itself is later)
    concurrency: int = 8


@dataclass(frozen=True)
class FollowupOutcome:
    destination: str
    thread: str
    day: date | None
    status: str  # posted | skipped | failed | off | waiting
    detail: str = ""
    events: tuple[int, ...] = ()


@dataclass
class RunReport:
    refresh: str = "not due"  # done | failed | skipped (someone else has it) | not due
    refresh_detail: str = ""
    baselined: int = 0
    events: list[str] = field(default_factory=list)  # "2604.01234 version:2", as detected by this run
    outcomes: list[FollowupOutcome] = field(default_factory=list)


def _paper_day(paper: Paper) -> date | None:
    return paper.listed_on or paper.published_on


class FollowupRunner:
    def __init__(self, db: Database, ingestor: Ingestor | None, posters: Mapping[str, object], *, owner: str,
                 clock: Clock, default_timezone: str = "UTC", settings: FollowupSettings | None = None,
                 on_outcome: Callable[[FollowupOutcome], None] | None = None) -> None:
        self.db = db
        self.ingestor = ingestor
        # Only posters that can reply in threads take part; a platform without one is left for a process that has.
        self.posters: dict[str, FollowupPoster] = {
            platform: poster for platform, poster in posters.items() if isinstance(poster, FollowupPoster)}
        self.owner = owner
        self.clock = clock
        self.default_timezone = default_timezone
        self.settings = settings or FollowupSettings()
        self.on_outcome = on_outcome
        self._slots = asyncio.Semaphore(self.settings.concurrency)

    # -- the whole run ---------------------------------------------------------------------------------------

    async def run(self, now: datetime | None = None, *, day: date | None = None) -> RunReport:
        """What the scheduler calls each tick (`day` None: each channel in its own daytime) and what
        `paperboy followups run --date D` calls (that day, whatever the hour). Idempotent: a second call posts
        nothing new."""
        moment = now or self.clock()
        today = day or local_today(lambda: moment, self.default_timezone)
        report = RunReport()
        report.baselined = await self.take_baselines(today - timedelta(days=1), today)
        await self.refresh(today, report, include_today=day is not None)
        if report.refresh == "skipped" and await followup_store.held_elsewhere(
                self.db, followup_store.REFRESH_KEY, today, self.clock()):
            # Another process is detecting today's events one by one: posting now would tell a thread half
            # of them and hold the rest until tomorrow. That process posts when it is done.
            report.refresh_detail = "in progress elsewhere; it posts the replies"
            return report
        report.outcomes = await self.post(moment, today, by_hand=day is not None)
        return report

    # -- baselines -------------------------------------------------------------------------------------------

    async def take_baselines(self, since: date, until: date) -> int:
        """Snapshot papers of digests posted from `since` on that have no baseline yet: how readers saw them."""
        async with self.db.session() as session:
            threads = [t for t in await followup_store.digest_threads(session, since) if t.digest_day <= until]
            ids = {i for t in threads for i in t.paper_ids}
            if not ids:
                return 0
            known = await followup_store.baselines(session, ids)
            missing = ids - set(known)
            if not missing:
                return 0
            papers = await followup_store.papers_by_id(session, missing)
            ranks = await followup_store.day_ranks(session, {d for p in papers.values() if (d := _paper_day(p))})
        rows = []
        for paper in papers.values():
            shot = self._snapshot(paper, ranks.get(paper.id))
            # A code link readers could already see in the comment or abstract is no news at the next version.
            code = shot.code_url or code_link(shot.comment) or code_link(paper.abstract)
            rows.append({"paper_id": paper.id, "version": shot.version, "title": shot.title,
                         "abstract_chars": shot.abstract_chars, "comment": shot.comment, "pages": shot.pages,
                         "code_url": code, "upvotes": shot.upvotes, "day_rank": shot.day_rank})
        return await followup_store.add_baselines(self.db, rows, self.clock())

    @staticmethod
    def _snapshot(paper: Paper, rank: int | None) -> Snapshot:
        return snapshot(version=paper.version, title=paper.title, abstract=paper.abstract, extra=paper.extra,
                        upvotes=paper.upvotes, day_rank=rank)

    # -- refresh and detection -------------------------------------------------------------------------------

    async def refresh(self, day: date, report: RunReport, *, include_today: bool = False) -> None:
        """Once per day (claimed): re-read the posted papers from the sources, merged like any ingestion, then
        detect their events. A failed source is retried later the same day, with backoff.

        On schedule the refresh runs at the day's first tick and covers the digests of the days before (a paper
        posted today has nothing to follow up yet); by hand (`--date D`) it also covers D's digests."""
        ticket = await followup_store.claim(self.db, followup_store.REFRESH_KEY, day, self.owner, self.clock(),
                                            self.settings.lease_seconds)
        if ticket is None:
            report.refresh, report.refresh_detail = "skipped", "done today already, or in progress elsewhere"
            return
        errors: list[str] = []
        try:
            await self.take_baselines(day - timedelta(days=self.settings.arxiv_days), day)
            async with self.db.session() as session:
                threads = [t for t in await self._threads(session, day) if include_today or t.digest_day < day]
                papers = await followup_store.papers_by_id(session, {i for t in threads for i in t.paper_ids})
            errors = await self._fetch(day, list(papers.values()))
            report.events = await self.detect(day, threads)
        except Exception as exc:
            log.exception("follow-up refresh for %s failed", day)
            await followup_store.fail(self.db, ticket, exc, self.clock())
            report.refresh, report.refresh_detail = "failed", type(exc).__name__
            return
        if errors:
            await followup_store.fail(self.db, ticket, "; ".join(errors), self.clock())
            report.refresh, report.refresh_detail = "failed", "; ".join(errors)
            return
        await followup_store.complete(self.db, ticket, self.clock(), told=[])
        report.refresh = "done"

    async def _threads(self, session: Any, day: date) -> list[DigestThread]:
        since = day - timedelta(days=self.settings.arxiv_days)
        return [t for t in await followup_store.digest_threads(session, since) if t.digest_day <= day]

    async def _fetch(self, day: date, papers: Sequence[Paper]) -> list[str]:
        """Hugging Face for the listing days of the last week, arXiv `id_list` in batches; each part stored as
        soon as it arrives. Returns what failed, one line each."""
        ingestor = self.ingestor
        if ingestor is None:
            return []
        errors: list[str] = []
        first_hf_day = day - timedelta(days=self.settings.hf_days - 1)
        hf_days = sorted({d for p in papers if (d := _paper_day(p)) is not None and first_hf_day <= d <= day})
        if ingestor.hf is not None:
            for listing_day in hf_days:
                try:
                    await self._store(ingestor, await ingestor.hf.daily(listing_day))
                except PaperboyError as exc:
                    errors.append(f"hf:{listing_day}: {exc}")
        ids = sorted({p.arxiv_id for p in papers if p.arxiv_id})
        if ingestor.arxiv is not None:
            size = max(1, min(self.settings.arxiv_batch, 100))
            for start in range(0, len(ids), size):
                try:
                    await self._store(ingestor, await ingestor.arxiv.by_ids(ids[start:start + size]))
                except PaperboyError as exc:
                    errors.append(f"arxiv ({len(ids[start:start + size])} ids): {exc}")
        return errors

    @staticmethod
    async def _store(ingestor: Ingestor, docs: list[Any]) -> None:
        counts = await ingestor.store_documents(docs)
        if counts.skipped:
            log.warning("follow-up refresh skipped %d unstorable paper(s)", len(counts.skipped))

    async def detect(self, day: date, threads: Iterable[DigestThread]) -> list[str]:
        """Compare each posted paper with its baseline and store what is new, once per paper and event."""
        ids = {i for t in threads for i in t.paper_ids}
        if not ids:
            return []
        async with self.db.session() as session:
            papers = await followup_store.papers_by_id(session, ids)
            known = await followup_store.baselines(session, ids)
            ranks = await followup_store.day_ranks(session, {d for p in papers.values() if (d := _paper_day(p))})
        found = []
        for pid, paper in sorted(papers.items()):
            base = known.get(pid)
            if base is None:
                continue
            before = Snapshot(version=base.version, title=base.title, abstract_chars=base.abstract_chars,
                              comment=base.comment, pages=base.pages, code_url=base.code_url, upvotes=base.upvotes,
                              day_rank=base.day_rank)
            now = self._snapshot(paper, ranks.get(pid))
            events = detect(before, now, paper.abstract)
            if now.version != before.version and not any(e.kind == "version" for e in events):
                # First seen without a version, now known as v1: that text is what readers saw.
                await followup_store.move_baseline(self.db, pid, {
                    "version": now.version, "title": now.title, "abstract_chars": now.abstract_chars,
                    "comment": now.comment, "pages": now.pages}, self.clock())
            for event in events:
                if await followup_store.record_event(self.db, pid, event.kind, event.key, event.detail, day,
                                                     self.clock()):
                    found.append(f"{paper.arxiv_id or f'#{pid}'} {event.key}")
                if event.kind == "version":
                    await followup_store.move_baseline(self.db, pid, {
                        "version": now.version, "title": now.title, "abstract_chars": now.abstract_chars,
                        "comment": now.comment, "pages": now.pages}, self.clock())
                elif event.kind == "code":
                    await followup_store.move_baseline(self.db, pid, {"code_url": event.detail["url"]}, self.clock())
        return found

    # -- posting ---------------------------------------------------------------------------------------------

    async def post(self, now: datetime, day: date, *, by_hand: bool = False) -> list[FollowupOutcome]:
        """Every thread with events it was not told yet: one reply each, in its channel's daytime (any time for
        a run by hand)."""
        since = day - timedelta(days=self.settings.pending_days)
        async with self.db.session() as session:
            events = sorted((e for e in await followup_store.recent_events(session, since) if e.day <= day),
                            key=lambda e: e.id)
            if not events:
                return []
            papers_with_news = {e.paper_id for e in events}
            threads = [t for t in await self._threads(session, day) if papers_with_news & set(t.paper_ids)]
            if not threads:
                return []
            enabled = await followup_store.followups_enabled(session, {t.destination_key for t in threads})
            destinations: dict[str, Destination] = {}
            for key in enabled:
                found = await get_destination(session, key)
                if found is not None:
                    destinations[key] = found
            papers = await followup_store.papers_by_id(session, papers_with_news)
        view = [(e.id, e.paper_id, e.kind, dict(e.detail or {}), e.day) for e in events]
        jobs = [self._post_thread(t, destinations.get(t.destination_key), enabled.get(t.destination_key, True),
                                  view, papers, now, day if by_hand else None)
                for t in threads]
        outcomes = [o for o in await asyncio.gather(*jobs) if o is not None]
        for outcome in outcomes:
            if self.on_outcome is not None:
                self.on_outcome(outcome)
        return outcomes

    def local_day(self, destination: Destination, now: datetime) -> date | None:
        """The channel's local day when now is its daytime — a digest day, from its digest time until the
        evening — else None."""
        zone = load_timezone(destination.timezone or self.default_timezone)
        local = now.astimezone(zone)
        if local.weekday() not in parse_days(destination.digest_days):
            return None
        hour, minute = (int(x) for x in destination.digest_time.split(":"))
        starts = time(hour, minute)
        clock_time = local.time().replace(tzinfo=None)
        if starts >= self.settings.day_ends:  # a digest after the evening: its follow-ups until midnight
            return local.date() if starts <= clock_time else None
        return local.date() if starts <= clock_time < self.settings.day_ends else None

    async def _post_thread(self, thread: DigestThread, destination: Destination | None, enabled: bool,
                           events: list[tuple[int, int, str, dict[str, Any], date]], papers: dict[int, Paper],
                           now: datetime, day: date | None) -> FollowupOutcome | None:
        # News of a paper no longer stored cannot be told (and would leave an empty reply); it ages out unsaid.
        mine = [e for e in events if e[1] in thread.paper_ids and e[4] >= thread.digest_day and e[1] in papers]
        if not mine or destination is None:
            return None
        key = thread.destination_key
        if not enabled:
            return FollowupOutcome(key, thread.message_ref, day, "off", "follow-ups are off here")
        poster = self.posters.get(destination.platform)
        if poster is None:
            return None  # another process (the one running that platform) replies there
        try:
            reply_day = day or self.local_day(destination, now)
        except Exception:  # a corrupt setting must not stop the others
            log.exception("bad digest settings for %s", key)
            return None
        if reply_day is None:
            return FollowupOutcome(key, thread.message_ref, None, "waiting", "not the channel's daytime")
        async with self._slots:
            async with self.db.session() as session:
                told = await followup_store.sent_event_ids(session, key, thread.message_ref)
            if not [e for e in mine if e[0] not in told]:
                return None
            ticket = await followup_store.claim(self.db, thread.claim_key, reply_day, self.owner, now,
                                                self.settings.lease_seconds, destination_key=key,
                                                thread_key=thread.message_ref)
            if ticket is None:
                return FollowupOutcome(key, thread.message_ref, reply_day, "skipped",
                                       "replied today already, in progress, or backing off")
            async with self.db.session() as session:  # re-read under the claim: an earlier reply may have landed
                told = await followup_store.sent_event_ids(session, key, thread.message_ref)
            pending = [e for e in mine if e[0] not in told]
            ids = [e[0] for e in pending]
            target = ThreadTarget(thread.message_ref, thread.thread_ref, thread.claim_key, reply_day)
            try:
                if not pending:
                    await followup_store.complete(self.db, ticket, self.clock(), told=[])
                    return None
                # An attempt after the first may follow one that posted and died before recording it.
                found = await poster.find_followup(as_value(destination), target) if ticket.attempt > 1 else None
                if found is not None:
                    ref = found
                    log.warning("follow-up for %s in %s was posted by an earlier attempt; recorded it",
                                key, thread.message_ref)
                else:
                    message = render_followup(self._news(thread, pending, papers))
                    ref = await poster.post_followup(as_value(destination), target, message)
            except DeliveryError as exc:
                retry_at = await followup_store.fail(self.db, ticket, exc, self.clock(), retry_after=exc.retry_after,
                                                     permanent=exc.permanent)
                if exc.permanent:  # said once: every retry would fail the same way until the platform is fixed
                    until = f"until {retry_at:%Y-%m-%d %H:%M} UTC" if retry_at is not None else "by this process"
                    log.warning("follow-up for %s in %s failed for good: %s; not tried again %s", key,
                                thread.message_ref, exc, until)
                else:
                    log.warning("follow-up for %s in %s failed: %s", key, thread.message_ref, exc)
                return FollowupOutcome(key, thread.message_ref, reply_day, "failed", str(exc))
            except Exception as exc:
                await followup_store.fail(self.db, ticket, exc, self.clock())
                log.exception("follow-up for %s in %s failed", key, thread.message_ref)
                return FollowupOutcome(key, thread.message_ref, reply_day, "failed", type(exc).__name__)
            done = await followup_store.complete(self.db, ticket, self.clock(), message_ref=ref, told=ids,
                                                 destination_key=key, thread_key=thread.message_ref)
            if not done:
                log.warning("follow-up for %s in %s posted after losing its claim", key, thread.message_ref)
            return FollowupOutcome(key, thread.message_ref, reply_day, "posted", ref, tuple(ids))

    @staticmethod
    def _news(thread: DigestThread, pending: list[tuple[int, int, str, dict[str, Any], date]],
              papers: dict[int, Paper]) -> list[PaperNews]:
        news = []
        for number, pid in enumerate(thread.paper_ids, start=1):
            events = [(kind, detail) for _, paper_id, kind, detail, _ in pending if paper_id == pid]
            paper = papers.get(pid)
            if events and paper is not None:
                news.append(PaperNews(number, paper.title, paper.arxiv_id, events))
        return news
