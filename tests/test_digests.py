"""Scheduled digests with an injected clock (no sleeping): exactly once, catch-up, crash recovery, races,
failure isolation, a slow or dead LLM, and never a paper twice. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
import signal
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from adapters.console.console_poster import ConsolePoster
from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.digests.poster import PostResult
from bot.digests.schedule import due_day, next_run, parse_days
from bot.errors import DeliveryError, FetchError, UsageError
from bot.papers import ParsedPaper
from bot.scheduling import BotScheduler
from bot.summaries.circuit_breaker import CircuitBreaker
from bot.summaries.llm_summarizer import LlmSummarizer, make_openai_client
from bot.summaries.summary_service import SummaryService
from bot.topics.semantic import OpenAITopicExpander, SemanticLayer
from bot.topics.subscriptions import Scope, subscribe
from storage.database import Database
from storage.delivery_models import POSTED
from storage.delivery_store import get_delivery
from storage.destination_store import ensure_destination, find_posted
from storage.paper_store import store_papers
from storage.semantic_cache_store import get_many
from tests.chat_fixtures import make_bot
from tests.cli_runner import ROOT, paperboy
from tests.digest_crash import post_then_die, take_over
from tests.fakes.fake_openai import FakeOpenAI, default_reply, expansion, hanging, request_kind, server_error
from tests.waiting import wait_for

DAY1 = date(2026, 4, 20)  # Monday
DAY2 = date(2026, 4, 21)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC)


def papers_for(day: date, n: int, prefix: str, start: int = 0) -> list[ParsedPaper]:
    return [ParsedPaper(title=f"{prefix} graph neural networks study {i}",
                        abstract=f"We propose a graph neural network method number {i} and evaluate it carefully.",
                        source="hf-api", arxiv_id=f"2604.{day.day:02d}{i + start:03d}", listed_on=day,
                        upvotes=i) for i in range(n)]


class Posts:
    """What reached the channels: the console poster's output, per channel."""

    def __init__(self, db: Database) -> None:
        self.lines: list[str] = []
        self.poster = ConsolePoster(make_bot(db).core, write=self.lines.append)

    def to(self, channel: str) -> list[str]:
        return [p for p in self.lines if p.startswith(f"— #{channel} —")]


async def setup_channels(db: Database, channels: dict[str, tuple[str, str]], topic: str | None = "gnn") -> None:
    async with db.session() as s:
        for name, (hhmm, tz) in channels.items():
            d = await ensure_destination(s, "console", "local", name)
            d.digest_time, d.timezone = hhmm, tz
            if topic:
                await subscribe(s, Scope.for_channel("console", "local", name), topic)


def runner_for(db: Database, posts: Posts, now: datetime, *, owner: str = "proc-1", summaries=None,
               settings: DigestSettings | None = None, poster=None) -> DigestRunner:
    bot = make_bot(db, now=now, summaries=summaries)
    return DigestRunner(bot.core.services, {"console": poster or posts.poster}, owner=owner,
                        settings=settings or DigestSettings(lease_seconds=300))


@pytest.fixture
async def world(db):
    async with db.session() as s:
        await store_papers(s, papers_for(DAY1, 14, "Monday"))
    await setup_channels(db, {"paris": ("08:00", "Europe/Paris"), "utc": ("09:00", "UTC")})
    return db


def test_schedule_rules():
    assert parse_days("mon-fri") == frozenset(range(5)) and parse_days("sat-mon") == frozenset({5, 6, 0})
    with pytest.raises(UsageError):
        parse_days("funday")
    # as the confirmations and phones write them: each is the same days as its short form
    for written, short in (("weekdays", "mon-fri"), ("Weekends", "sat-sun"), ("daily", "mon-sun"),
                           ("Monday–Friday", "mon-fri"), ("tues,thurs", "tue,thu"), ("fri—mon", "fri-mon")):
        assert parse_days(written) == parse_days(short), written
    grace = timedelta(hours=6)
    assert due_day(at(DAY1, 5, 59), "08:00", "Europe/Paris", "mon-fri", grace) is None  # 07:59 in Paris
    assert due_day(at(DAY1, 6, 0), "08:00", "Europe/Paris", "mon-fri", grace) == DAY1
    assert due_day(at(DAY1, 12, 0), "08:00", "Europe/Paris", "mon-fri", grace) == DAY1
    assert due_day(at(DAY1, 12, 1), "08:00", "Europe/Paris", "mon-fri", grace) is None  # beyond grace
    assert due_day(at(date(2026, 4, 18), 10), "09:00", "UTC", "mon-fri", grace) is None  # Saturday
    assert due_day(at(DAY2, 1, 0), "23:00", "UTC", "mon-sun", grace) == DAY1  # catch-up across midnight
    assert next_run(at(DAY1, 9, 30), "09:00", "UTC", "mon-fri") == at(DAY2, 9)


async def test_each_destination_gets_exactly_one_digest_at_its_time(world):
    posts = Posts(world)
    for moment, expected in [(at(DAY1, 5, 59), []), (at(DAY1, 6, 0), ["paris"]), (at(DAY1, 6, 1), []),
                             (at(DAY1, 8, 59), []), (at(DAY1, 9, 0), ["utc"]), (at(DAY1, 9, 1), []),
                             (at(DAY1, 14, 0), [])]:
        outcomes = await runner_for(world, posts, moment).run_due(moment)
        assert sorted(o.destination.split(":")[-1] for o in outcomes if o.status == "posted") == expected, moment
    assert len(posts.to("paris")) == 1 and len(posts.to("utc")) == 1
    digest = posts.to("paris")[0]
    assert "Paperboy · Mon Apr 20, 2026" in digest and digest.count("TL;DR:") == 10
    assert "4 more — /papers today" in digest and "why: gnn:" in digest
    # The next day has nothing new: one short line, never yesterday's papers again.
    await runner_for(world, posts, at(DAY2, 9)).run_due(at(DAY2, 9))
    assert posts.to("utc")[-1].endswith("No new papers today.") and len(posts.to("utc")) == 2


async def test_a_day_its_topics_did_not_match_is_not_a_day_without_papers(world):
    """A channel whose topics matched none of the day's 14 papers is told so, and where they are, not "No new
    papers today" (which it keeps for days without papers, and for matches it was already sent)."""
    await setup_channels(world, {"qcd": ("09:00", "UTC")}, topic="quantum chromodynamics")
    posts = Posts(world)
    await runner_for(world, posts, at(DAY1, 9)).run_due(at(DAY1, 9))
    (digest,) = posts.to("qcd")
    assert "None of the day's 14 new papers match this channel's topics." in digest
    assert "Topics: quantum chromodynamics" in digest and "All of them: /papers today" in digest
    assert "No new papers today" not in digest


async def test_restart_in_the_middle_of_a_run_posts_nothing_twice(world):
    posts = Posts(world)
    started = asyncio.Event()
    posting = []

    class CrashingPoster:
        async def post_digest(self, destination, message, *, tag=None):
            posting.append(destination.channel)
            if len(posting) == 2:
                started.set()
            await asyncio.Event().wait()  # the process dies here, before the post goes out

    crashed = runner_for(world, posts, at(DAY1, 9), owner="dead", poster=CrashingPoster())
    task = asyncio.create_task(crashed.run_due(at(DAY1, 9)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The restarted bot, a minute later: the dead process's claims still hold their lease, so nothing is due.
    assert await runner_for(world, posts, at(DAY1, 9, 1), owner="new").run_due() == []
    after_lease = at(DAY1, 9, 6)
    outcomes = await runner_for(world, posts, after_lease, owner="new").run_due()
    assert sorted(o.status for o in outcomes) == ["posted", "posted"]
    assert await runner_for(world, posts, at(DAY1, 9, 7), owner="new").run_due() == []
    assert len(posts.to("paris")) == 1 and len(posts.to("utc")) == 1


async def test_a_digest_posted_today_is_not_due_again_for_the_rest_of_its_grace(world, monkeypatch):
    """Once a channel's digest is posted (or claimed by a live process, or backing off after a failure), the
    minute ticks for the rest of the six-hour grace period neither load the day's papers again nor count a
    "skipped" digest: the metric counted ~360 phantom skips per channel per day."""
    from bot.digests import digest_runner
    from bot.metrics import Metrics

    loads = []
    real_papers_of_days = digest_runner.papers_of_days

    async def counting(*args, **kwargs):
        loads.append(args[1:])
        return await real_papers_of_days(*args, **kwargs)

    monkeypatch.setattr(digest_runner, "papers_of_days", counting)
    metrics = Metrics()
    posts = Posts(world)

    async def run_at(moment: datetime, owner: str = "proc-1") -> list[str]:
        runner = runner_for(world, posts, moment, owner=owner)
        runner.on_outcome = lambda outcome: metrics.digests.labels(status=outcome.status).inc()
        return [f"{o.destination.split(':')[-1]} {o.status}" for o in await runner.run_due(moment)]

    assert sorted(await run_at(at(DAY1, 9))) == ["paris posted", "utc posted"]  # 11:00 in Paris: within grace
    loads.clear()
    for minute in range(1, 180, 7):  # the rest of the morning, one tick every few minutes
        assert await run_at(at(DAY1, 9) + timedelta(minutes=minute)) == []
    assert loads == []
    text = metrics.render().decode()
    assert 'paperboy_digests_total{status="posted"} 2.0' in text and 'status="skipped"' not in text
    assert len(posts.to("paris")) == 1 and len(posts.to("utc")) == 1


async def test_a_bot_down_across_the_scheduled_time_posts_one_catch_up(world):
    posts = Posts(world)
    outcomes = await runner_for(world, posts, at(DAY1, 13)).run_due()  # up again 4 h after 09:00 UTC
    assert [o.destination for o in outcomes if o.status == "posted"] == ["console:local:utc"]  # Paris: 7 h ago
    await runner_for(world, posts, at(DAY1, 13, 1)).run_due()
    assert len(posts.to("utc")) == 1 and posts.to("paris") == []


async def test_one_failing_destination_never_delays_the_others_and_is_retried(world):
    posts = Posts(world)
    calls = {"paris": 0}

    class FlakyPoster:
        async def post_digest(self, destination, message, *, tag=None):
            if destination.channel == "paris":
                calls["paris"] += 1
                if calls["paris"] == 1:
                    raise DeliveryError("rate limited", retry_after=90)
            return await posts.poster.post_digest(destination, message, tag=tag)

        async def find_digest(self, destination, tag):
            return await posts.poster.find_digest(destination, tag)

    flaky = FlakyPoster()
    first = await runner_for(world, posts, at(DAY1, 9), poster=flaky).run_due()
    assert {o.destination.split(":")[-1]: o.status for o in first} == {"paris": "failed", "utc": "posted"}
    # paris backs off (Retry-After 90 s), utc is done: neither is due
    assert await runner_for(world, posts, at(DAY1, 9, 1), poster=flaky).run_due() == []
    retried = await runner_for(world, posts, at(DAY1, 9, 2), poster=flaky).run_due()
    assert {o.destination.split(":")[-1]: o.status for o in retried} == {"paris": "posted"}
    assert len(posts.to("paris")) == 1 and len(posts.to("utc")) == 1


async def test_a_digest_that_failed_for_good_waits_out_the_day_unless_someone_runs_it_by_hand(world):
    """A failure the platform says retrying cannot mend (the channel is gone, the bot removed) was retried with
    the normal backoff all through the grace period. It is tried once; `paperboy digest run` there, after the
    fix, tries it at once."""
    posts = Posts(world)
    refusals = iter([DeliveryError("the channel is gone", permanent=True)])
    tries: list[str] = []

    class GoneOnce:
        async def post_digest(self, destination, message, *, tag=None, resume=None):
            if destination.channel == "utc":
                tries.append(destination.channel)
                if (error := next(refusals, None)) is not None:
                    raise error
            return await posts.poster.post_digest(destination, message, tag=tag, resume=resume)

        async def find_digest(self, destination, tag):
            return await posts.poster.find_digest(destination, tag)

    gone = GoneOnce()
    outcomes = []
    for minute in range(0, 6 * 60, 3):  # the whole grace period, a tick every 3 minutes
        moment = at(DAY1, 9) + timedelta(minutes=minute)
        outcomes += await runner_for(world, posts, moment, poster=gone).run_due(moment)
    assert [o.status for o in outcomes if o.destination.endswith(":utc")] == ["failed"] and tries == ["utc"]
    (by_hand,) = await runner_for(world, posts, at(DAY1, 15), poster=gone).run_for(DAY1, "console:local:utc")
    assert by_hand.status == "posted" and len(posts.to("utc")) == 1


async def test_a_platform_this_process_does_not_run_is_left_to_the_one_that_does(world, caplog):
    """Slack replicas and one Discord process share a database: a process without the Slack adapter claimed
    Slack channels' digests and recorded them as failed, so the Slack process's own post waited out a backoff."""
    posts = Posts(world)
    async with world.session() as s:
        await ensure_destination(s, "slack", "T1", "C1")
    runner = runner_for(world, posts, at(DAY1, 9))
    with caplog.at_level(logging.WARNING, logger="bot.digests.digest_runner"):
        outcomes = await runner.run_due()
        await runner.run_due()
    assert "slack:T1:C1" not in {o.destination for o in outcomes} and {o.status for o in outcomes} == {"posted"}
    async with world.session() as s:
        assert await get_delivery(s, "slack:T1:C1", DAY1) is None  # not claimed: free for the Slack process
    left = [r.getMessage() for r in caplog.records if "left to a process" in r.getMessage()]
    assert left == ["slack digests are left to a process that runs the slack adapter (none runs in this one)"]


async def test_a_paper_is_never_posted_twice_even_as_a_new_version_or_from_another_source(world):
    posts = Posts(world)
    await runner_for(world, posts, at(DAY1, 9)).run_due()
    first = posts.to("utc")[0]
    # Day 2: three new papers, plus yesterday's top paper again as arXiv v2, and again from the HF page text.
    again = papers_for(DAY1, 14, "Monday")[13]
    async with world.session() as s:
        await store_papers(s, papers_for(DAY2, 3, "Tuesday", start=500))
        await store_papers(s, [ParsedPaper(title=again.title, abstract="Revised abstract about graph neural "
                                           "networks.", source="arxiv-api", arxiv_id=again.arxiv_id, version=2,
                                           listed_on=DAY2)])
        await store_papers(s, [ParsedPaper(title=again.title.upper(), abstract="x", source="hf-page",
                                           listed_on=DAY2)])
    await runner_for(world, posts, at(DAY2, 9)).run_due()
    second = posts.to("utc")[1]
    assert again.title in first and again.title not in second
    assert second.count("Tuesday graph neural networks study") == 3


async def test_racing_schedulers_post_each_digest_once(world, db_env):
    posts = Posts(world)
    dbs = [Database(db_env["PAPERBOY_DATABASE_URL"], schema=db_env.get("PAPERBOY_DATABASE_SCHEMA"))
           for _ in range(3)]
    try:
        async with dbs[0].session() as s:
            for i in range(8):
                await ensure_destination(s, "console", "local", f"extra{i}")
        runners = [runner_for(d, posts, at(DAY1, 9), owner=f"proc-{i}") for i, d in enumerate(dbs)]
        results = await asyncio.gather(*(r.run_due(at(DAY1, 9)) for r in runners))
    finally:
        for d in dbs:
            await d.dispose()
    posted = [o.destination for outcomes in results for o in outcomes if o.status == "posted"]
    assert len(posted) == len(set(posted)) == 10  # utc, paris (11:00 there, within grace) and 8 more
    assert len([line for line in posts.lines if line.startswith("— #")]) == 10


async def test_slow_or_dead_llm_still_posts_on_time_with_offline_tldrs(world):
    posts = Posts(world)
    for reply in (hanging(60), server_error(500)):
        with FakeOpenAI() as llm:
            llm.always(reply)
            client = make_openai_client(llm.base_url, None, 60.0)
            summarizer = LlmSummarizer(client, "fake-model", timeout=60.0)
            service = SummaryService(world, llm=summarizer, today=lambda: DAY1,
                                     breaker=CircuitBreaker(failure_threshold=3, cooldown=60))
            runner = runner_for(world, posts, at(DAY1, 9), summaries=service,
                                settings=DigestSettings(tldr_deadline=0.5))
            started = time.monotonic()
            channel = "utc" if reply.delay else "paris"
            async with world.session() as s:
                destination = await ensure_destination(s, "console", "local", channel)
            outcome = await runner.run_one(destination, DAY1 if reply.delay else DAY2)
            assert time.monotonic() - started < 30.0  # the 0.5 s deadline, not the LLM's 60 s, even on a busy machine
            assert outcome.status == "posted"
            await client.close()
    assert all("TL;DR:" in p for p in posts.lines)


async def test_a_slow_topic_expansion_never_delays_the_digest_past_its_deadline(world):
    """A 60 s LLM behind the semantic layer: the digest still goes out within its deadline, matched plainly."""
    from bot.topics.semantic import OpenAITopicExpander, SemanticLayer

    posts = Posts(world)
    with FakeOpenAI() as llm:
        llm.always(hanging(60))
        client = make_openai_client(llm.base_url, None, 60.0)
        runner = runner_for(world, posts, at(DAY1, 9), settings=DigestSettings(tldr_deadline=1.0))
        runner.services.semantic = SemanticLayer(world, expander=OpenAITopicExpander(client, "fake", timeout=60.0))
        started = time.monotonic()
        outcomes = await runner.run_for(DAY1)
        elapsed = time.monotonic() - started
        await client.close()
        assert len(llm.calls) >= 1  # the expansion was asked for, and abandoned at the deadline
    assert elapsed < 30.0  # the 1 s deadline, not the LLM's 60 s (generous for a busy machine)
    assert {o.status for o in outcomes} == {"posted"}
    assert len(posts.to("utc")) == 1 and "graph neural networks study" in posts.to("utc")[0]


async def test_a_digest_posted_by_a_process_that_died_before_recording_it_is_not_posted_again(world):
    """The crash window: the platform took the digest, the process died before `complete`. The process that
    takes over after the lease finds the tagged digest on the platform and records it instead of posting."""
    posts = Posts(world)

    class DiesRightAfterPosting:
        async def post_digest(self, destination, message, *, tag=None):
            await posts.poster.post_digest(destination, message, tag=tag)
            raise asyncio.CancelledError  # the process is gone: nothing after the post runs

        async def find_digest(self, destination, tag):
            return await posts.poster.find_digest(destination, tag)

    first = runner_for(world, posts, at(DAY1, 9), owner="proc-dead", poster=DiesRightAfterPosting())
    async with world.session() as s:
        destination = await ensure_destination(s, "console", "local", "utc")
    with pytest.raises(asyncio.CancelledError):
        await first.run_one(destination, DAY1, now=at(DAY1, 9))
    assert len(posts.to("utc")) == 1

    later = at(DAY1, 9, 6)  # past the 300 s lease
    second = runner_for(world, posts, later, owner="proc-2")
    outcome = await second.run_one(destination, DAY1, now=later)
    assert outcome.status == "posted"
    assert len(posts.to("utc")) == 1  # found on the platform, not posted twice
    again = await second.run_one(destination, DAY1, now=later)
    assert again.status == "skipped" and len(posts.to("utc")) == 1


async def started_scheduler(runner: DigestRunner, now: datetime, ingest) -> BotScheduler:
    """A scheduler started at `now` (the injected clock), once its first digest check is done."""
    scheduler = BotScheduler(runner, lambda: now, ingest=ingest, ingest_at="06:00", ingest_retry=timedelta(minutes=15))
    scheduler.start()
    try:
        await wait_for(lambda: scheduler.checked_once)
    finally:
        scheduler.shutdown(wait=False)
    await wait_for(lambda: not scheduler.alive)  # it stops on one of the loop's next turns
    return scheduler


async def test_a_bot_started_after_the_ingest_time_fetches_the_day_before_its_first_digest(world):
    """Down at 06:00 (a deploy, a crash), back at 09:30: the cron job only looks ahead, so nothing fetched
    Tuesday's papers, and the 09:00 digest, caught up in its grace period, said "No new papers today"."""
    posts = Posts(world)
    await runner_for(world, posts, at(DAY1, 9)).run_due(at(DAY1, 9))  # Monday's digest went out as usual
    fetched = []

    async def ingest() -> int:
        fetched.append(True)
        async with world.session() as s:
            await store_papers(s, papers_for(DAY2, 3, "Tuesday"))
        return 3

    await started_scheduler(runner_for(world, posts, at(DAY2, 9, 30)), at(DAY2, 9, 30), ingest)
    assert fetched == [True]
    tuesday = posts.to("utc")[-1]
    assert len(posts.to("utc")) == 2 and "Paperboy · Tue Apr 21, 2026" in tuesday
    assert "Tuesday graph neural networks study" in tuesday and "No new papers" not in tuesday


async def test_a_bot_restarted_after_todays_papers_came_in_does_not_fetch_them_again(world):
    """The catch-up fetched the day on every start: a bot in a crash loop asked Hugging Face once per restart.
    Once the day's Hugging Face listing is in the database, a restart leaves it to the daily job; papers of the
    day from elsewhere (an arXiv query, a file) do not count as the listing."""
    fetched = []

    async def ingest() -> int:
        fetched.append(True)
        async with world.session() as s:
            await store_papers(s, papers_for(DAY2, 3, "Tuesday"))  # source hf-api, listed on Tuesday
        return 3

    async with world.session() as s:
        await store_papers(s, [ParsedPaper(title="An arXiv query's paper on graph neural networks",
                                           abstract="Fetched by hand.", source="arxiv-api", arxiv_id="2604.99999",
                                           listed_on=DAY2)])
    await started_scheduler(runner_for(world, Posts(world), at(DAY2, 9, 30)), at(DAY2, 9, 30), ingest)
    assert fetched == [True]  # the listing itself was not in yet
    for minute in (31, 32, 45):  # restarts, after the listing came in
        await started_scheduler(runner_for(world, Posts(world), at(DAY2, 9, minute)), at(DAY2, 9, minute), ingest)
    assert fetched == [True]


async def test_a_bot_restarting_before_todays_papers_are_out_asks_hugging_face_once_per_fetch_interval(world):
    """Started on a weekday after the ingest time, before Hugging Face has published the day's listing: the
    catch-up finds nothing, and in a crash loop (or with replicas starting together) every start asked Hugging
    Face again. The attempt is recorded in the database: a start within the scheduler's fetch interval (15 min)
    leaves it, and schedules the next try for when the interval is over; a start after it fetches."""
    fetched: list[datetime] = []
    clock = {"now": at(DAY2, 9, 30)}

    async def ingest() -> int:
        fetched.append(clock["now"])
        return 0  # not published yet

    for minute in (30, 31, 33, 40):  # a crash loop; or replicas, which share the database
        clock["now"] = at(DAY2, 9, minute)
        await started_scheduler(runner_for(world, Posts(world), clock["now"]), clock["now"], ingest)
    assert fetched == [at(DAY2, 9, 30)]
    # The next start does not drop the day either: it tries when the interval is over.
    clock["now"] = at(DAY2, 9, 41)
    later = BotScheduler(runner_for(world, Posts(world), clock["now"]), lambda: clock["now"], ingest=ingest)
    await later.catch_up()
    job = later.scheduler.get_job("ingest-catch-up")
    assert fetched == [at(DAY2, 9, 30)] and job is not None and job.trigger.run_date == at(DAY2, 9, 45)
    clock["now"] = at(DAY2, 9, 45)
    await later.catch_up()
    assert fetched == [at(DAY2, 9, 30), at(DAY2, 9, 45)]
    clock["now"] = at(DAY2, 9, 50)  # the daily job's own retries count as attempts too
    assert await later.ingest_once() is True
    clock["now"] = at(DAY2, 9, 52)
    await started_scheduler(runner_for(world, Posts(world), clock["now"]), clock["now"], ingest)
    assert fetched == [at(DAY2, 9, 30), at(DAY2, 9, 45), at(DAY2, 9, 50)]


@pytest.mark.parametrize("moment", [at(DAY2, 5, 59), at(date(2026, 4, 25), 9, 30)], ids=["before 06:00", "Saturday"])
async def test_a_bot_started_before_the_ingest_time_or_on_a_weekend_leaves_it_to_the_daily_job(world, moment):
    fetched = []

    async def ingest() -> int:
        fetched.append(True)
        return 0

    await started_scheduler(runner_for(world, Posts(world), moment), moment, ingest)
    assert fetched == []


async def test_a_daily_ingest_hugging_face_did_not_answer_is_one_log_line_and_retried(world, caplog):
    """An outage upstream is expected (the retry is there for it): the operator reads why in one line, not a
    traceback of the HTTP stack for every retry."""
    async def ingest() -> int:
        raise FetchError("huggingface.co did not answer in time (after 4 attempts)")

    scheduler = BotScheduler(runner_for(world, Posts(world), at(DAY1, 7)), lambda: at(DAY1, 7), ingest=ingest)
    with caplog.at_level(logging.INFO, logger="bot.scheduling"):
        assert await scheduler.ingest_once() is True  # retried in 15 minutes
    failed = [r for r in caplog.records if "daily ingest failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is None, [r.exc_info for r in failed]
    assert failed[0].getMessage() == "daily ingest failed: huggingface.co did not answer in time (after 4 attempts)"


async def test_scheduler_ticks_and_retries_the_daily_ingest(world):
    posts = Posts(world)
    moment = {"now": at(DAY1, 7)}
    runner = runner_for(world, posts, at(DAY1, 7))
    results = iter([0, 5])
    calls = []

    async def ingest() -> int:
        calls.append(moment["now"])
        return next(results)

    scheduler = BotScheduler(runner, lambda: moment["now"], ingest=ingest, ingest_until_hour=12)
    scheduler.start()
    try:
        # The scheduler's own first tick runs at once (at 07:00: nothing due); let it finish, so the 09:00 tick
        # below is the only one, instead of racing it for the claim.
        await wait_for(lambda: scheduler.checked_once)
        assert scheduler.alive and {j.id for j in scheduler.scheduler.get_jobs()} >= {"digests", "ingest"}
        assert calls == []  # started after the 06:00 ingest time, but Monday's listing is in: no catch-up
        assert await scheduler.ingest_once() is True  # nothing yet: retry scheduled
        assert scheduler.scheduler.get_job("ingest-retry") is not None
        assert await scheduler.ingest_once() is False
        moment["now"] = at(DAY1, 9)
        await scheduler.tick()
        assert len(posts.to("utc")) == 1 and scheduler.last_tick == at(DAY1, 9)
    finally:
        scheduler.shutdown(wait=False)
    for _ in range(1000):  # the asyncio scheduler stops on one of the loop's next turns
        if not scheduler.alive:
            break
        await asyncio.sleep(0.01)
    assert not scheduler.alive


async def test_a_preview_posts_and_records_nothing(world):
    bot = make_bot(world, channel="utc", now=at(DAY1, 8))
    preview = await bot.core.handle_text(bot.console.context(), "/papers digest preview")
    assert preview.message.items  # a preview posts nothing and records nothing
    posts = Posts(world)
    await runner_for(world, posts, at(DAY1, 9)).run_due()
    assert len(posts.to("utc")) == 1 and "TL;DR:" in posts.to("utc")[0]




# -- posted, then killed before recording it --------------------------------------------------------------------


async def test_a_digest_posted_by_a_process_that_died_before_recording_it_is_found_not_posted_again(world):
    posts = Posts(world)
    services = make_bot(world, now=at(DAY1, 9)).core.services
    async with world.session() as s:
        destination = await ensure_destination(s, "console", "local", "utc")
    first = await post_then_die(services, "console", posts.poster, destination, DAY1, at(DAY1, 9))
    assert len(posts.to("utc")) == 1
    async with world.session() as s:
        assert (await get_delivery(s, destination.key, DAY1)).status == "claimed"

    outcome = await take_over(services, "console", posts.poster, destination, DAY1, at(DAY1, 9))
    assert outcome.status == "posted" and "found from an earlier attempt" in outcome.detail
    assert len(posts.to("utc")) == 1  # nothing printed a second time
    async with world.session() as s:
        delivery = await get_delivery(s, destination.key, DAY1)
        recorded = await find_posted(s, destination.key, first.message_ref)
    assert delivery.status == "posted" and delivery.message_ref == first.message_ref == "1"
    assert recorded is not None and recorded.kind == "digest" and len(recorded.paper_ids) == 10
    assert list(outcome.paper_ids) == list(recorded.paper_ids)
    assert await make_bot(world).core.next_message_number(destination.key) == 2
    # Those ten papers count as posted: the next day's digest does not bring them back.
    await runner_for(world, posts, at(DAY2, 9)).run_due()
    assert posts.to("utc")[-1].endswith("No new papers today.")


async def test_every_part_of_a_found_split_digest_is_recorded(world):
    """The dead attempt's digest was split over three messages and the platform finds them all (Slack reads the
    parts from the channel's history): each is recorded, so a reply under the last part finds the digest."""
    posts = Posts(world)
    services = make_bot(world, now=at(DAY1, 9)).core.services

    class FindsThreeParts:
        def __init__(self, poster: object) -> None:
            self.poster = poster

        async def post_digest(self, destination, message, *, tag=None):
            return await self.poster.post_digest(destination, message, tag=tag)  # type: ignore[attr-defined]

        async def find_digest(self, destination, tag):
            found = await self.poster.find_digest(destination, tag)  # type: ignore[attr-defined]
            return PostResult(found.message_ref, later_refs=("part-2", "part-3")) if found else None

    async with world.session() as s:
        destination = await ensure_destination(s, "console", "local", "utc")
    poster = FindsThreeParts(posts.poster)
    await post_then_die(services, "console", poster, destination, DAY1, at(DAY1, 9))
    outcome = await take_over(services, "console", poster, destination, DAY1, at(DAY1, 9))
    assert outcome.status == "posted" and "found from an earlier attempt" in outcome.detail
    async with world.session() as s:
        parts = [await find_posted(s, destination.key, ref) for ref in ("part-2", "part-3")]
    assert [(p.kind, list(p.paper_ids)) for p in parts if p is not None] == [
        ("digest-part", list(outcome.paper_ids))] * 2


async def test_a_retry_after_a_failure_looks_before_it_posts_and_a_first_attempt_never_looks(world):
    posts = Posts(world)
    lookups = []
    failures = iter([DeliveryError("Slack unreachable: TimeoutError")])

    class TimesOutOnce:
        """The first post times out before the platform answers: it may or may not have gone out."""

        async def post_digest(self, destination, message, *, tag=None):
            if destination.channel == "utc" and (error := next(failures, None)) is not None:
                raise error
            return await posts.poster.post_digest(destination, message, tag=tag)

        async def find_digest(self, destination, tag):
            lookups.append(tag)
            return await posts.poster.find_digest(destination, tag)

    first = await runner_for(world, posts, at(DAY1, 9), poster=TimesOutOnce()).run_due()
    assert sorted(o.status for o in first) == ["failed", "posted"] and lookups == []  # first attempts never look
    retried = await runner_for(world, posts, at(DAY1, 9, 5), poster=TimesOutOnce()).run_due()
    assert [o.status for o in retried if o.destination.endswith(":utc")] == ["posted"]
    assert [(t.destination_key, t.day, t.since) for t in lookups] == [("console:local:utc", DAY1, at(DAY1, 9))]
    assert len(posts.to("utc")) == 1 and len(posts.to("paris")) == 1


def _twelve_channels() -> dict[str, tuple[str, str]]:
    return {f"ch{i:02d}": ("09:00", "UTC") for i in range(12)}


async def _wait_until(check, what: str, within: float = 90.0) -> None:
    try:
        async with asyncio.timeout(within):
            while not await check():  # noqa: ASYNC110 - another process's progress, seen through PostgreSQL
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"not within {within:g} s: {what}")


# The advisory lock the crash-window test holds completions with (under 2**32: pg_locks shows it whole as objid).
_GATE = 74_205_317


async def test_a_killed_process_between_posting_and_recording_never_causes_a_second_post(db, db_env, backend):
    """The crash window with a real process: `paperboy digest run` posts twelve digests to the console while the
    test makes every completion wait: a trigger of the test's own on the update that marks a delivery posted
    (nothing before the print makes it; the console records its message when it takes its number, before
    printing) waits for an advisory lock the test holds. The process is killed with SIGKILL in that window; after
    its lease, another run completes all twelve from the console's delivery log and prints nothing."""
    if backend != "postgresql":
        pytest.skip("the window is held open with a PostgreSQL lock (the in-process test covers SQLite)")
    async with db.session() as s:
        await store_papers(s, papers_for(DAY1, 14, "Monday"))
    await setup_channels(db, _twelve_channels())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "SLACK_", "DISCORD_"))}
    env.update(db_env, PAPERBOY_DIGEST_LEASE_SECONDS="900", PYTHONPATH=str(ROOT))

    async with db.engine.begin() as conn:  # the gate: a completion waits while the test holds lock _GATE
        await conn.execute(text("CREATE FUNCTION hold_completion() RETURNS trigger LANGUAGE plpgsql AS "
                                f"$$ BEGIN PERFORM pg_advisory_xact_lock({_GATE}); RETURN NEW; END $$"))
        await conn.execute(text("CREATE TRIGGER hold_completion BEFORE UPDATE ON deliveries FOR EACH ROW "
                                f"WHEN (NEW.status = '{POSTED}') EXECUTE FUNCTION hold_completion()"))
    blocker = await db.engine.connect()
    await blocker.begin()
    await blocker.execute(text(f"SELECT pg_advisory_xact_lock({_GATE})"))

    async def scalar(sql: str) -> int:
        return int((await blocker.execute(text(sql))).scalar_one())

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "digest", "run", "--date", DAY1.isoformat(), env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    printed: list[str] = []
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(120):
            while sum(line.startswith("— #ch") for line in printed) < 12:
                line = (await proc.stdout.readline()).decode()
                assert line, f"paperboy exited early: {(await proc.stderr.read()).decode()[-2000:]}"  # type: ignore[union-attr]
                printed.append(line)
        # All twelve are printed; once each is inside its completion, waiting for the lock, the window is open.
        waiting = f"SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory' AND objid = {_GATE}"

        async def all_waiting() -> bool:
            return await scalar(waiting) == 12

        await _wait_until(all_waiting, "twelve completions waiting")
        proc.kill()
        assert await proc.wait() == -signal.SIGKILL
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await blocker.rollback()
    # The dead process's database sessions end once they can run on and find their client gone.
    holding = ("SELECT count(*) FROM pg_locks WHERE pid <> pg_backend_pid() AND "
               "relation IN ('deliveries'::regclass, 'posted_messages'::regclass)")

    async def released() -> bool:
        return await scalar(holding) == 0

    await _wait_until(released, "the killed process's transactions rolled back")
    await blocker.close()
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER hold_completion ON deliveries"))
    assert sorted(line.strip() for line in printed if line.startswith("— #ch")) == \
        [f"— #ch{i:02d} —" for i in range(12)]

    status = paperboy("digest", "status", env={**db_env, "PAPERBOY_DIGEST_LEASE_SECONDS": "900"})
    assert status.code == 0, status.err
    assert status.out.count("owner is not running; frees up at") == 12, status.out

    async with db.session() as s:
        claimed = [await get_delivery(s, f"console:local:ch{i:02d}", DAY1) for i in range(12)]
    assert all(d is not None and d.status == "claimed" for d in claimed)
    lease = claimed[0].lease_expires_at - claimed[0].claimed_at
    assert lease == timedelta(seconds=900)  # PAPERBOY_DIGEST_LEASE_SECONDS

    posts = Posts(db)
    within = await runner_for(db, posts, claimed[0].claimed_at + timedelta(seconds=60), owner="heir").run_for(DAY1)
    assert {o.status for o in within} == {"skipped"}  # the dead process's claims hold until their lease ends
    after_lease = claimed[0].lease_expires_at + timedelta(seconds=1)
    outcomes = await runner_for(db, posts, after_lease, owner="heir").run_for(DAY1)
    assert [o.status for o in outcomes] == ["posted"] * 12, outcomes
    assert all("found from an earlier attempt" in o.detail and len(o.paper_ids) == 10 for o in outcomes)
    assert posts.lines == []  # each digest is on the console exactly once: printed by the killed process only
    async with db.session() as s:
        for outcome in outcomes:
            after = await get_delivery(s, outcome.destination, DAY1)
            assert after.status == "posted" and after.message_ref == "1"
            assert after.paper_ids == list(outcome.paper_ids)
            recorded = await find_posted(s, outcome.destination, "1")
            assert recorded is not None and list(recorded.paper_ids) == list(outcome.paper_ids)


# -- topic expansion within the deadline --------------------------------------------------------------------------


async def test_a_slow_topic_expansion_never_holds_up_the_digest(world):
    """The LLM answers the expansion of the followed topic only when the test lets it, which is after the run:
    a run that waited for it would never finish. It must post on time with the plain matcher's result."""
    posts = Posts(world)
    answer = threading.Event()
    with FakeOpenAI() as llm:
        def reply(rec):
            if request_kind(rec) == "expansion":
                answer.wait(120)
                return expansion("Graph learning.", "message passing")
            return default_reply(rec)

        llm.always(reply)
        client = make_openai_client(llm.base_url, None, 120.0)
        layer = SemanticLayer(world, expander=OpenAITopicExpander(client, "fake-model", timeout=120.0))
        services = dataclasses.replace(make_bot(world, now=at(DAY1, 9)).core.services, semantic=layer)
        runner = DigestRunner(services, {"console": posts.poster}, owner="proc-1",
                              settings=DigestSettings(tldr_deadline=1.0, lease_seconds=300))
        try:
            outcomes = await asyncio.wait_for(runner.run_for(DAY1), timeout=60)
            unanswered = not answer.is_set()
        finally:
            answer.set()
            await client.close()
    assert unanswered and [request_kind(r) for r in llm.calls] == ["expansion"]  # asked, then abandoned
    assert sorted(o.status for o in outcomes) == ["posted", "posted"]
    for channel in ("paris", "utc"):
        (digest,) = posts.to(channel)
        assert digest.count("TL;DR:") == 10 and "why: gnn:" in digest  # the plain matcher's digest
    async with world.session() as s:
        assert (await get_many(s, "topic_expansion", "fake-model", ["gnn"])) == {}


def test_status_says_who_holds_a_claim_and_when_it_frees_up():
    from bot.cli.digests import claim_line
    from storage.delivery_store import DeliveryView, owner_running, process_owner

    def view(owner: str, expires: datetime) -> DeliveryView:
        return DeliveryView(destination_key="console:local:utc", digest_day=DAY1, status="claimed", owner=owner,
                            attempts=1, claimed_at=at(DAY1, 9), lease_expires_at=expires, last_error=None,
                            next_attempt_at=None, posted_at=None, message_ref=None, paper_ids=[], updated_at=None)

    now = at(DAY1, 9, 5)
    assert owner_running(process_owner()) is True and owner_running("elsewhere:123:abcd") is None
    dead = view("here:1:x", at(DAY1, 9, 10))
    assert claim_line(dead, now, False).endswith("owner is not running; frees up at 2026-04-20 09:10 UTC (in 5 min)")
    assert claim_line(dead, now, None).endswith("in progress; lease until 2026-04-20 09:10 UTC (in 5 min)")
    expired = claim_line(view("here:1:x", at(DAY1, 9)), now, False)
    assert "owner gone, lease expired at 2026-04-20 09:00 UTC; free now" in expired


async def test_digest_run_by_hand_leaves_slack_and_discord_channels_to_the_bot(world, db_env):
    """`paperboy digest run` has only the console's poster: on a production database it claimed every Slack and
    Discord channel's digest of the day and recorded each as failed ("no slack adapter is running"), so `digest
    status` and /healthz reported them failing and the bot's own digest waited out a backoff. It now posts the
    console channels and says which it left to the bot; asked for one of those, it changes nothing."""
    async with world.session() as s:
        await ensure_destination(s, "slack", "T1", "C1")
        await ensure_destination(s, "discord", "G1", "42")
    ran = await asyncio.to_thread(paperboy, "digest", "run", "--date", DAY1.isoformat(), env=db_env)
    assert ran.code == 0, ran.err
    assert f"console:local:paris {DAY1}: posted" in ran.out and f"console:local:utc {DAY1}: posted" in ran.out
    # where each went, not a bare "posted (2)"
    assert re.search(rf"console:local:utc {DAY1}: posted \(message \d+, \d+ papers?\)", ran.out), ran.out
    assert f"slack:T1:C1 {DAY1}: left to the bot (paperboy run posts slack digests)" in ran.out
    assert f"discord:G1:42 {DAY1}: left to the bot (paperboy run posts discord digests)" in ran.out
    asked = await asyncio.to_thread(paperboy, "digest", "run", "--date", DAY1.isoformat(), "--destination",
                                    "slack:T1:C1", env=db_env)
    assert asked.code == 2 and "slack:T1:C1 is posted by the bot (paperboy run)" in asked.err, asked.err
    async with world.session() as s:
        assert await get_delivery(s, "slack:T1:C1", DAY1) is None  # nothing claimed, nothing failed
        assert await get_delivery(s, "discord:G1:42", DAY1) is None
    status = await asyncio.to_thread(paperboy, "digest", "status", env=db_env)
    assert "Failing" not in status.out and "failed" not in status.out, status.out
