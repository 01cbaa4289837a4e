"""The dev set's papers stored under made-up arXiv ids, and the two channels that judge them: for the feedback
tests (tests/test_feedback*.py; the `devset_db` fixture is in conftest.py)."""

from __future__ import annotations

from bot.papers import ParsedPaper
from bot.scope import Scope
from storage.database import Database
from storage.paper_store import store_papers
from tests.relevance.feedback_eval import CHECK, TUNING

CHANNEL_A = Scope.for_channel("console", "local", "lab-a")
CHANNEL_B = Scope.for_channel("console", "local", "lab-b")
_DEVSET = [(f"2501.{i:05d}", p) for i, p in enumerate(TUNING["papers"] + CHECK["papers"])]
DEVSET_IDS = {p["title"]: ref for ref, p in _DEVSET}


async def store_devset(db: Database) -> Database:
    papers = [ParsedPaper(title=p["title"], abstract=p["abstract"], source="hf-page", arxiv_id=ref)
              for ref, p in _DEVSET]
    async with db.session() as s:
        await store_papers(s, papers)
    return db
