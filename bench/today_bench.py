"""`/papers today` in process (parse, query, match, TL;DRs, render) with 100,000 papers and 1,000 subscriptions.

Target (issue 5): p99 under 50 ms on SQLite. Prints p50 and p99. Run: .venv/bin/python bench/today_bench.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.console.console_renderer import render_reply
from bench.bench_data import fill
from bench.topics_bench import subscription_topics
from bot.clock import fixed_clock
from bot.collector import settle_after_start
from bot.commands.command_core import CommandCore
from bot.commands.context import ChatContext
from bot.commands.services import CoreServices
from bot.summaries.summary_service import SummaryService
from bot.topics.subscriptions import Scope, subscribe
from bot.topics.topic_service import TopicMatcher
from storage.database import Database

CHANNELS = 200  # 1,000 subscriptions: 5 topics in each of 200 channels


async def run(total: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        await db.upgrade()
        day = await fill(db, total)
        topics = subscription_topics(CHANNELS * 5)
        async with db.session() as s:
            for c in range(CHANNELS):
                for t in topics[c * 5:(c + 1) * 5]:
                    await subscribe(s, Scope.for_channel("bench", "w", f"c{c}"), t)
        now = datetime.combine(day, dtime(12, 0), tzinfo=UTC)
        services = CoreServices(db=db, matcher=TopicMatcher(),
                                summaries=SummaryService(db, llm=None, today=lambda: day),
                                clock=fixed_clock(now))
        core = CommandCore(services)
        settle_after_start()  # as the bot does once it has started (bot/collector.py)
        started = time.perf_counter()
        render_reply(await core.handle_text(ChatContext("bench", "w", "c0", "u"), "/papers today"))
        cold = (time.perf_counter() - started) * 1000
        timings = []
        for i in range(runs):
            ctx = ChatContext("bench", "w", f"c{(i + 1) % CHANNELS}", "u")
            started = time.perf_counter()
            reply = await core.handle_text(ctx, "/papers today")
            render_reply(reply)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        print(f"/papers today over {total:,} papers, {CHANNELS * 5:,} subscriptions, {runs} runs "
              f"(each channel once or more):")
        print(f"  first request of the day (analyses and indexes the day's papers): {cold:.1f} ms")
        print(f"  then p50 {statistics.median(timings):.1f} ms   p99 {p99:.1f} ms   (target p99 < 50 ms)")
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    asyncio.run(run(args.papers, args.runs))


if __name__ == "__main__":
    main()
