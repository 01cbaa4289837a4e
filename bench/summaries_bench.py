"""Summaries benchmark: the offline summarizer and cleaner on the real sample abstracts, and the service's
cache path (a digest of 200 papers asked for again by many channels) on SQLite.

Prints microseconds per offline TL;DR and summary, and cached requests per second. No network: the "LLM" is a
stub that answers instantly, so the figures measure Paperboy's own overhead.
Run: .venv/bin/python bench/summaries_bench.py [--papers N] [--requests R]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.ingestion.hf_page_parser import parse_hf_page
from bot.ingestion.ingest_service import sample_sources
from bot.papers import ParsedPaper
from bot.summaries.extractive_summarizer import ExtractiveSummarizer
from bot.summaries.kinds import Draft, PaperText, SummaryKind, SummaryRequest
from bot.summaries.output_cleaner import clean_output
from bot.summaries.summary_service import SummaryService, paper_text
from storage.database import Database
from storage.models import Paper
from storage.paper_store import store_papers

TODAY = date(2026, 11, 23)


class InstantLlm:
    """Stands in for the LLM so the benchmark measures caching, not a model."""

    model = "bench-model"

    async def summarize(self, request: SummaryRequest) -> Draft:
        return Draft(f"{request.paper.title} does something useful.", prompt_tokens=300, completion_tokens=12)


def sample_papers() -> list[ParsedPaper]:
    papers = []
    for source in sample_sources():
        papers.extend(parse_hf_page(Path(source.value).read_text(), today=TODAY))
    return papers


def bench_offline(papers: list[ParsedPaper]) -> None:
    offline = ExtractiveSummarizer()
    texts = [PaperText(i, p.title, p.abstract) for i, p in enumerate(papers)]
    for kind, write in ((SummaryKind.TLDR, offline.tldr), (SummaryKind.SUMMARY, offline.summary)):
        started = time.perf_counter()
        for paper in texts:
            clean_output(write(paper), kind)
        per = (time.perf_counter() - started) / len(texts) * 1e6
        print(f"offline {kind.value}: {per:,.0f} µs per paper (extract + clean, {len(texts)} papers)")


async def bench_cache(papers: list[ParsedPaper], count: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{folder}/bench.db")
        await db.upgrade()
        chosen = [ParsedPaper(title=p.title, abstract=p.abstract, source="bench", arxiv_id=f"2401.{10000 + i}")
                  for i, p in enumerate(papers[:count])]
        async with db.session() as session:
            ids = (await store_papers(session, chosen)).paper_ids
        async with db.session() as session:
            texts = [paper_text(row) for pid in ids if (row := await session.get(Paper, pid)) is not None]
        service = SummaryService(db, llm=InstantLlm(), today=lambda: TODAY)
        started = time.perf_counter()
        await asyncio.gather(*(service.tldr(p) for p in texts))
        print(f"first TL;DRs of {len(texts)} papers (instant LLM, stored): {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        for start in range(0, requests, 50):
            await asyncio.gather(*(service.tldr(texts[i % len(texts)]) for i in range(start, start + 50)))
        elapsed = time.perf_counter() - started
        print(f"{requests} cached TL;DR requests, 50 at a time: {elapsed:.2f} s ({requests / elapsed:,.0f} per s)")
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    papers = sample_papers()
    bench_offline(papers)
    asyncio.run(bench_cache(papers, min(args.papers, len(papers)), args.requests))


if __name__ == "__main__":
    main()
