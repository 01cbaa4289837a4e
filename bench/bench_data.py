"""A large, realistic store for benchmarks: N papers made from the real sample pages, 200 per listing day."""

from __future__ import annotations

from datetime import date, timedelta

from bench.ingest_bench import TODAY, base_papers
from bot.papers import ParsedPaper
from storage.database import Database
from storage.paper_store import store_papers

PAPERS_PER_DAY = 200


async def fill(db: Database, total: int) -> date:
    """Store `total` papers, the newest day being TODAY; returns that day."""
    bases = base_papers()
    first = TODAY - timedelta(days=(total - 1) // PAPERS_PER_DAY)
    batch: list[ParsedPaper] = []
    for n in range(total):
        title, abstract = bases[n % len(bases)]
        batch.append(ParsedPaper(title=f"{title} (variant {n})", abstract=abstract, source="bench",
                                 listed_on=first + timedelta(days=n // PAPERS_PER_DAY), upvotes=n % 37))
        if len(batch) == 10_000:
            async with db.session() as s:
                await store_papers(s, batch)
            batch = []
    if batch:
        async with db.session() as s:
            await store_papers(s, batch)
    return first + timedelta(days=(total - 1) // PAPERS_PER_DAY)
