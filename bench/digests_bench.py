"""Digest composition benchmark (issue 6): 10,000 destinations with 5 subscriptions each over 300 new papers.

Target: composing them under 30 s (network excluded: the LLM is an in-process summarizer that counts its
calls), and LLM calls == distinct papers (each paper summarised once however many channels get it; calls the
TL;DR deadline stopped waiting for are counted when they finish).
Composition is the runner's own code path (`_prepare` once, then `_compose` per destination). The end-to-end
run (claim, post to an in-memory poster, complete: two database transactions per destination) is timed too,
on a smaller number of destinations, and printed as a rate.
With --models (issue 17), every subscription also gets a learned model (ten judgements of the topic's best
candidates of the day, some relevant, some not, so most models carry a learned bar), and composition is timed
without and with them: the target is less than 25 % more time. All timings are of a later pass (fresh
matcher, TL;DRs already cached), so the matching, where the models act, weighs as much as it can. The models
are timed as a running bot composes (it parsed them in an earlier run and reads only what was refit since; the
plain passes are a running bot too, one without models) and,
printed beside, as the first run after a start (the bot reads every model at start-up, `ModelCache.warm`, timed
apart) and as a run that reads and parses every model it needs itself.
Run: .venv/bin/python bench/digests_bench.py [--destinations N] [--full-run N] [--models [--rounds N]]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench.bench_data import fill
from bench.topics_bench import subscription_topics
from bot.clock import fixed_clock
from bot.collector import settle_after_start
from bot.commands.services import CoreServices
from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.digests.poster import DigestTag, PostResult
from bot.feedback.model_cache import ModelCache
from bot.messages import Message
from bot.summaries.kinds import Draft, SummaryRequest
from bot.summaries.summary_service import SummaryService
from bot.topics.subscriptions import Scope
from bot.topics.topic_service import TopicMatcher
from storage.database import Database
from storage.destination_models import Destination
from storage.subscription_models import Subscription as SubscriptionRow

ROUNDS = 5


class CountingLlm:
    model = "bench-llm"

    def __init__(self) -> None:
        self.calls = 0

    async def summarize(self, request: SummaryRequest) -> Draft:
        self.calls += 1
        return Draft(f"{request.paper.title[:80]} in one sentence.", prompt_tokens=300, completion_tokens=30)


class MemoryPoster:
    def __init__(self) -> None:
        self.posts = 0
        self.papers: set[int] = set()

    async def post_digest(self, destination: Destination, message: Message, *,
                          tag: DigestTag | None = None) -> PostResult:
        self.posts += 1
        self.papers.update(item.paper_id for item in message.items)
        return PostResult(f"m{self.posts}")

    async def find_digest(self, destination: Destination, tag: DigestTag) -> PostResult | None:
        return None  # every delivery of the bench is a first attempt


async def compose_all(db: Database, summaries: SummaryService, now: datetime, day: object,
                      models: ModelCache | None = None) -> tuple[float, int]:
    """One composition pass over every destination, with a fresh matcher: (CPU seconds, digests). CPU time of
    this process (its threads included), not wall time: the shared machines this runs on made wall-clock
    comparisons of two passes swing from +22 % to +137 % for the same code. `models`: the learned models the
    process already parsed (a running bot's); None, a process that has just started.

    Every pass starts from a collected heap (untimed): otherwise the garbage that earlier passes left in the
    collector's oldest generation was collected during whichever pass happened to trigger the next full
    collection (1.3 to 1.7 s on the machine where this was seen, more than the models' whole cost), so a pass's
    figure depended on the passes before it. Collections the pass's own allocations trigger are timed."""
    services = CoreServices(db=db, matcher=TopicMatcher(), summaries=summaries, clock=fixed_clock(now),
                            learned_models=models if models is not None else ModelCache())
    runner = DigestRunner(services, {"bench": MemoryPoster()}, owner="bench", settings=DigestSettings(concurrency=4))
    async with db.session() as s:
        everyone = list((await s.execute(select(Destination).order_by(Destination.id))).scalars())
    gc.collect()
    started = time.process_time()
    context = await runner._prepare(everyone, {day})  # type: ignore[arg-type]
    composed = await asyncio.gather(*(runner._compose(d, day, context) for d in everyone))  # type: ignore[arg-type]
    return time.process_time() - started, len(composed)


async def models_visible(db: Database, visible: bool) -> None:
    """Hide every stored model (a scope no channel has) or bring them back: plain and learned passes alternate
    on one database, so neither gets the quieter moment of a shared machine. This numbers no change (as a
    judgement does, `feedback_store.model_changes`): each running bot's cache below sees the database as it was
    in its own earlier passes, as a bot with models (or without any) would between two runs."""
    from sqlalchemy import func, update

    from storage.feedback_models import FeedbackModel

    hidden = FeedbackModel.scope.startswith("hidden:")
    async with db.session() as s:
        if visible:
            await s.execute(update(FeedbackModel).where(hidden)
                            .values(scope=func.substr(FeedbackModel.scope, len("hidden:") + 1)))
        else:
            await s.execute(update(FeedbackModel).where(~hidden).values(scope="hidden:" + FeedbackModel.scope))


async def add_models(db: Database, day: object) -> int:
    """A learned model on every subscription: per topic, its ten best candidates of the day judged (every
    other one relevant), stored for each channel that follows it."""
    from bot.feedback.learned_model import Judged, fit, paper_terms
    from bot.topics.subscriptions import clean_topic
    from bot.topics.topic_service import match_topic
    from storage.feedback_models import FeedbackModel

    matcher = TopicMatcher()
    async with db.session() as s:
        subscriptions = list((await s.execute(select(SubscriptionRow.scope, SubscriptionRow.topic))).all())
        fitted: dict[str, dict[str, object]] = {}
        for topic in sorted({t for _, t in subscriptions}):
            ranked = await match_topic(s, matcher, topic, since=day, until=day, limit=10)  # type: ignore[arg-type]
            judged = [Judged.of(paper_terms(matcher.analyze(r.paper)), n % 2 == 0, r.paper.title, r.result)
                      for n, r in enumerate(ranked)]
            background = [paper_terms(matcher.analyze(r.paper)) for r in ranked]
            fitted[topic] = fit(judged, background).to_json()
        s.add_all(FeedbackModel(scope=scope, topic_key=clean_topic(topic)[1], topic=topic, judgements=10,
                                model=fitted[topic]) for scope, topic in subscriptions)
    return len(subscriptions)


async def run(destinations: int, full_run: int, models: bool = False, rounds: int = ROUNDS) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        await db.upgrade()
        day = await fill(db, 1_500)  # older days plus the newest day's 300 papers below
        day = await fill_day(db, day)
        topics = subscription_topics(destinations * 5)
        async with db.session() as s:
            s.add_all(Destination(key=f"bench:w:c{i}", platform="bench", workspace="w", channel=f"c{i}",
                                  digest_time="09:00", digest_enabled=True, digest_days="mon-sun")
                      for i in range(destinations))
            rows = []
            for i in range(destinations):
                scope = Scope.for_channel("bench", "w", f"c{i}")
                for t in topics[(i * 5) % len(topics):(i * 5) % len(topics) + 5]:
                    rows.append(SubscriptionRow(scope=scope.key, platform="bench", workspace="w", channel=f"c{i}",
                                                topic=t, topic_key=t.lower()))
            s.add_all(rows)
        llm = CountingLlm()
        now = datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=9)
        summaries = SummaryService(db, llm=llm, today=lambda: day, concurrency=16)
        services = CoreServices(db=db, matcher=TopicMatcher(), summaries=summaries, clock=fixed_clock(now))
        poster = MemoryPoster()
        runner = DigestRunner(services, {"bench": poster}, owner="bench", settings=DigestSettings(concurrency=4))
        settle_after_start()  # as the bot does once it has started (bot/collector.py)
        async with db.session() as s:
            everyone = list((await s.execute(select(Destination).order_by(Destination.id))).scalars())
        started = time.perf_counter()
        context = await runner._prepare(everyone, {day})
        composed = await asyncio.gather(*(runner._compose(d, day, context) for d in everyone))
        elapsed = time.perf_counter() - started
        distinct = {pid for _, ids in composed for pid in ids}
        print(f"composed {len(composed):,} digests ({destinations:,} destinations x 5 subscriptions, 300 new "
              f"papers) in {elapsed:.1f} s (target < 30 s)")
        in_time = llm.calls
        # TL;DRs the deadline gave up waiting for went out offline; their LLM calls finish (and are cached) later
        await asyncio.gather(*summaries._inflight.values(), return_exceptions=True)
        print(f"LLM calls: {llm.calls:,} ({in_time:,} before the TL;DR deadline); distinct papers in the digests: "
              f"{len(distinct):,} ({'equal' if llm.calls == len(distinct) else 'NOT equal'})")
        subset = everyone[:full_run]
        started = time.perf_counter()
        outcomes = [await runner.run_one(d, day, now=now, context=context) for d in subset]
        elapsed = time.perf_counter() - started
        posted = sum(o.status == "posted" for o in outcomes)
        print(f"end to end (claim, post, complete) on SQLite: {posted:,} digests in {elapsed:.1f} s "
              f"({posted / elapsed:,.0f} per second); LLM calls still {llm.calls:,}")
        if models:
            with_bar = await add_models(db, day)
            await compose_all(db, summaries, now, day)  # papers the models let in get their TL;DRs cached too
            running = ModelCache()
            await compose_all(db, summaries, now, day, running)  # the bot's earlier run parsed them
            await models_visible(db, False)
            plain_running = ModelCache()  # a running bot without models: it looked once, nothing changed since
            await compose_all(db, summaries, now, day, plain_running)
            plains, starting, colds, learneds, warming = [], [], [], [], []
            for _ in range(rounds):
                await models_visible(db, False)
                plains.append((await compose_all(db, summaries, now, day, plain_running))[0])
                await models_visible(db, True)
                colds.append((await compose_all(db, summaries, now, day))[0])
                started = ModelCache()  # a bot that has just started reads its models before any run
                clock = time.process_time()
                await started.warm(db)
                warming.append(time.process_time() - clock)
                settle_after_start()  # what the bot does next (bot/cli/run.py)
                starting.append((await compose_all(db, summaries, now, day, started))[0])
                del started
                learneds.append((await compose_all(db, summaries, now, day, running))[0])
            plain, first, cold, learned = min(plains), min(starting), min(colds), min(learneds)
            print(f"learned models on all {with_bar:,} subscriptions: composing {destinations:,} digests took "
                  f"{plain:.1f} s plain and {learned:.1f} s with the models (CPU, best of {rounds} alternating "
                  f"passes): {100 * (learned / plain - 1):+.0f} % (target < +25 %); the first run after a "
                  f"start: {first:.1f} s, {100 * (first / plain - 1):+.0f} % (the start read every model first, "
                  f"in {min(warming):.1f} s); a run that parses every model it needs itself: {cold:.1f} s, "
                  f"{100 * (cold / plain - 1):+.0f} %")
        await summaries.close()
        await db.dispose()


async def fill_day(db: Database, last: object) -> object:
    """300 papers on the day after the filled ones: the day the digests cover."""
    from datetime import timedelta

    from bench.ingest_bench import base_papers
    from bot.papers import ParsedPaper
    from storage.paper_store import store_papers

    assert hasattr(last, "toordinal")
    day = last + timedelta(days=1)  # type: ignore[operator]
    bases = base_papers()
    papers = [ParsedPaper(title=f"{t} (new {n})", abstract=a, source="bench", listed_on=day, upvotes=n % 50)
              for n, (t, a) in enumerate((bases * 2)[:300])]
    async with db.session() as s:
        await store_papers(s, papers)
    return day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--destinations", type=int, default=10_000)
    parser.add_argument("--full-run", type=int, default=500)
    parser.add_argument("--models", action="store_true", help="Also time composition with a learned model on "
                        "every subscription (issue 17).")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="Alternating passes of each kind (best taken).")
    args = parser.parse_args()
    asyncio.run(run(args.destinations, args.full_run, args.models, args.rounds))


if __name__ == "__main__":
    main()
