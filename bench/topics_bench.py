"""Topic matching benchmark (issue 3).

Targets: one topic over 100,000 stored papers under 50 ms median (SQLite); 1,000 subscriptions against one day
of 200 new papers under 2 s. Prints both. Run: .venv/bin/python bench/topics_bench.py [--papers N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_data import fill
from bot.topics.glossary import default_glossary
from bot.topics.topic_service import TopicMatcher, match_many, match_topic
from storage.database import Database
from storage.paper_store import papers_of_days

TOPICS = ["gnn", "diffusion models", "knowledge distillation", "rlhf", "pruning", "continual learning", "moe",
          "in-context learning", "lora", "contrastive learning", "bayesian optimization", "text-to-image",
          "quantization", "reinforcement learning", "llm evaluation", "machine unlearning", "fairness",
          "conformal prediction", "curriculum learning", "zeroth-order optimization"]


def subscription_topics(n: int) -> list[str]:
    """Realistic variety: glossary terms and their abbreviations, as many distinct topics as asked."""
    terms = [t.label for group in default_glossary().groups for t in group]
    return [terms[(i * 7) % len(terms)] for i in range(n)]


async def run(total: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        await db.upgrade()
        last_day = await fill(db, total)

        timings = []
        for topic in TOPICS:
            matcher = TopicMatcher()  # cold caches: every topic analyses its candidates afresh
            async with db.session() as s:
                started = time.perf_counter()
                await match_topic(s, matcher, topic, limit=20)
                timings.append((time.perf_counter() - started) * 1000)
        print(f"one topic over {total:,} papers: median {statistics.median(timings):.1f} ms, "
              f"max {max(timings):.1f} ms over {len(TOPICS)} topics (target median < 50 ms)")

        topics = subscription_topics(1000)
        matcher = TopicMatcher()
        started = time.perf_counter()
        async with db.session() as s:
            papers = await papers_of_days(s, last_day, last_day)
        results = match_many(matcher, topics, papers)
        elapsed = time.perf_counter() - started
        hits = sum(len(v) for v in results.values())
        print(f"{len(set(topics)):,} subscriptions x {len(papers)} papers of one day: {elapsed:.2f} s, "
              f"{hits:,} matches (target < 2 s)")
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=100_000)
    asyncio.run(run(parser.parse_args().papers))


if __name__ == "__main__":
    main()
