"""The dev set's papers stored under made-up arXiv ids, for the tests that judge them through the database and the
CLI (tests/test_feedback_devset.py, tests/test_feedback_cli.py; the `devset_db` fixture in conftest.py)."""

from __future__ import annotations

from bot.papers import ParsedPaper
from storage.database import Database
from storage.paper_store import store_papers
from tests.relevance.feedback_eval import CHECK, TUNING

DEVSET_IDS = {p["title"]: f"2501.{i:05d}" for i, p in enumerate(TUNING["papers"] + CHECK["papers"])}


async def store_devset(db: Database) -> Database:
    papers = [ParsedPaper(title=p["title"], abstract=p["abstract"], source="hf-page", arxiv_id=f"2501.{i:05d}")
              for i, p in enumerate(TUNING["papers"] + CHECK["papers"])]
    async with db.session() as s:
        await store_papers(s, papers)
    return db
