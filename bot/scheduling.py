"""APScheduler in the bot process: a one-minute tick that runs due digests, and the daily ingest job.

A tick rather than one cron job per channel: channels change their time at any moment, a bot that was down
catches up within the grace period on its first tick, and several processes can tick at once — the claims in
the database, not the scheduler, decide who posts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock, load_timezone
from bot.digests.digest_runner import DigestRunner
from bot.digests.schedule import parse_days
from bot.errors import PaperboyError
from storage.event_store import mark_attempt
from storage.paper_store import listed_by

log = logging.getLogger(__name__)

IngestJob = Callable[[], Awaitable[int]]  # returns how many new papers arrived
FollowupJob = Callable[[], Awaitable[object]]  # one follow-up pass (refresh once a day, replies in daytime)
INGEST_DAYS = "mon-fri"  # the days Hugging Face publishes Daily Papers
HF_SOURCE_PREFIX = "hf"  # the sources a Hugging Face listing stores papers under (hf-api, hf-page)


class BotScheduler:
    def __init__(
        self,
        runner: DigestRunner,
        clock: Clock,
        *,
        ingest: IngestJob | None = None,
        ingest_at: str = "06:00",
        ingest_until_hour: int = 12,
        ingest_retry: timedelta = timedelta(minutes=15),
        timezone: str = "UTC",
        tick: timedelta = timedelta(minutes=1),
        followups: FollowupJob | None = None,
        stuck_after: timedelta | None = None,
    ) -> None:
        self.runner = runner
        self.clock = clock
        self.ingest = ingest
        self.ingest_at = ingest_at
        self.ingest_until_hour = ingest_until_hour
        self.ingest_retry = ingest_retry
        self.timezone = timezone
        self.tick_every = tick
        self.followups = followups
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.last_tick: datetime | None = None
        # A digest tick that has not finished this long after it began is reported stuck (`state`): by default a
        # digest's lease, after which other processes may take its claims over, and never under five ticks.
        self.stuck_after = stuck_after or max(timedelta(seconds=runner.settings.lease_seconds), 5 * tick)
        self.started_at: datetime | None = None
        self._tick_began: datetime | None = None
        self.checked_once = False
        self._catch_up = False  # fetch today's papers before the first digest check (see `_missed_todays_ingest`)
        self._in_flight: set[asyncio.Task[object]] = set()

    def start(self) -> None:
        self._catch_up = self._missed_todays_ingest()
        self.started_at = self.clock()
        self.scheduler.add_job(self.tick, IntervalTrigger(seconds=self.tick_every.total_seconds()), id="digests",
                               max_instances=1, coalesce=True, next_run_time=datetime.now(self.clock().tzinfo))
        if self.ingest is not None:
            hour, minute = (int(x) for x in self.ingest_at.split(":"))
            # However late the event loop gets to it (a digest run composing at that minute): APScheduler's default
            # is to drop a run more than a second late, and with it the day's papers.
            self.scheduler.add_job(self.ingest_once, CronTrigger(day_of_week=INGEST_DAYS, hour=hour, minute=minute,
                                                                 timezone=load_timezone(self.timezone)),
                                   id="ingest", max_instances=1, coalesce=True, misfire_grace_time=None)
        if self.followups is not None:  # its own job: a slow refresh or platform never delays a digest tick
            self.scheduler.add_job(self.followups_tick, IntervalTrigger(seconds=self.tick_every.total_seconds()),
                                   id="followups", max_instances=1, coalesce=True)
        self.scheduler.start()

    def _missed_todays_ingest(self) -> bool:
        """Started on an ingest day after the ingest time: the process was down then (a deploy, a crash, a
        reboot), and the cron job only looks ahead. Without a catch-up that day's papers are never fetched: every
        digest of the day says "No new papers today", and the next day's lists only the next day's papers."""
        if self.ingest is None:
            return False
        local = self.clock().astimezone(load_timezone(self.timezone))
        return local.weekday() in parse_days(INGEST_DAYS) and local.strftime("%H:%M") >= self.ingest_at

    async def _fetched_today(self) -> bool:
        """Whether today's Hugging Face listing is in the database already (fetched before a restart, or by another
        process): then the catch-up is not needed, and a bot in a crash loop does not ask Hugging Face on every
        start. When the database cannot say, the catch-up goes ahead."""
        today = self.clock().astimezone(load_timezone(self.timezone)).date()
        try:
            async with self.runner.services.db.session() as session:
                found = await listed_by(session, today, HF_SOURCE_PREFIX)
        except Exception as exc:
            log.warning("could not tell whether today's papers are in (%s); fetching them", type(exc).__name__)
            return False
        if found:
            log.info("today's papers (%s) are in already: no catch-up fetch", today.isoformat())
        return found

    async def catch_up(self) -> None:
        """The start-up fetch of today's papers, at most once per fetch interval (`ingest_retry`) across restarts
        and replicas: before Hugging Face publishes, each start of a crash loop asked it again. A start within the
        interval of an earlier attempt (recorded in the database) schedules this for when the interval is over,
        so the day is not dropped if the process that fetched has died."""
        if await self._fetched_today():
            return
        earlier = await self._record_fetch(within=self.ingest_retry)
        if earlier is None:
            await self._fetch()
            return
        when = earlier + self.ingest_retry
        local = when.astimezone(load_timezone(self.timezone))
        if local.hour >= self.ingest_until_hour or local.date() != self._today():
            log.info("today's papers were asked for at %s; the daily job fetches them next", earlier.isoformat())
            return
        self.scheduler.add_job(self.catch_up, DateTrigger(run_date=when), id="ingest-catch-up",
                               replace_existing=True, misfire_grace_time=int(self.ingest_retry.total_seconds()))
        log.info("today's papers were asked for at %s (before a restart, or by another process); next try at %s",
                 earlier.isoformat(), when.isoformat())

    def _today(self) -> date:
        return self.clock().astimezone(load_timezone(self.timezone)).date()

    async def _record_fetch(self, within: timedelta = timedelta(0)) -> datetime | None:
        """Record a fetch of today's listing now, shared by every process (`mark_attempt`); the time of one less
        than `within` ago instead, when there was one. When the database cannot say, the fetch goes ahead."""
        try:
            return await mark_attempt(self.runner.services.db, f"ingest:{HF_SOURCE_PREFIX}:{self._today()}",
                                      self.clock(), within=within)
        except Exception as exc:
            log.warning("could not record the fetch of today's papers (%s); fetching them", type(exc).__name__)
            return None

    @property
    def alive(self) -> bool:
        return bool(self.scheduler.running)

    def state(self) -> str:
        """One word for /healthz: "starting" until `start` (models still warming up: not ready, but nothing is
        wrong), "ok", "stuck" when the latest digest tick began more than `stuck_after` ago (one hung on a
        platform or the database holds every later tick back, since only one runs at a time), or "stopped"."""
        if self.started_at is None:
            return "starting"
        if not self.alive:
            return "stopped"
        if self.clock() - (self._tick_began or self.started_at) > self.stuck_after:
            return "stuck"
        return "ok"

    async def tick(self) -> None:
        """Run what is due now; never lets an exception kill the job."""
        self._tick_began = self.clock()
        if self._catch_up:  # first, so that a digest due right now (caught up in its grace) lists today's papers
            self._catch_up = False
            await self.catch_up()
        self.last_tick = self.clock()
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            outcomes = await self.runner.run_due(self.last_tick)
            if not self.checked_once:  # operators (and tests) see that the scheduler really works
                self.checked_once = True
                counts = Counter(outcome.status for outcome in outcomes)
                log.info("first digest check done: %s",
                         ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing due")
        except Exception:
            log.exception("digest tick failed")
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def followups_tick(self) -> None:
        """One follow-up pass; never lets an exception kill the job."""
        assert self.followups is not None
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self.followups()
        except Exception:
            log.exception("follow-up tick failed")
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def ingest_once(self) -> bool:
        """Fetch today's papers; when none are out yet, try again later, up to the configured hour.

        Returns True when a retry was scheduled."""
        await self._record_fetch()  # a start-up catch-up within the interval leaves it to this one
        return await self._fetch()

    async def _fetch(self) -> bool:
        assert self.ingest is not None
        try:
            new = await self.ingest()
        except PaperboyError as exc:  # Hugging Face down or slow, the database away: expected, so one line
            log.warning("daily ingest failed: %s", exc)
            new = 0
        except Exception:
            log.exception("daily ingest failed")
            new = 0
        local = self.clock().astimezone(load_timezone(self.timezone))
        if new == 0 and local.hour < self.ingest_until_hour:
            when = self.clock() + self.ingest_retry
            self.scheduler.add_job(self.ingest_once, DateTrigger(run_date=when), id="ingest-retry",
                                   replace_existing=True, misfire_grace_time=int(self.ingest_retry.total_seconds()))
            log.info("no new papers yet; trying again at %s", when.isoformat())
            return True
        return False

    def shutdown(self, wait: bool = True) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    async def drain(self, wait_seconds: float = 120.0) -> None:
        """Stop scheduling and let a digest run in progress finish its posts (SIGTERM): nothing half-done.

        Pause first, wait, then shut down: APScheduler's asyncio executor cancels running jobs on shutdown."""
        if self.scheduler.running:
            self.scheduler.pause()
        pending = [t for t in self._in_flight if not t.done() and t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=wait_seconds)
        self.shutdown(wait=False)
