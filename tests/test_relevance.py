"""Relevance regression on the hand-labelled development set (tests/relevance/devset.json), through the database.

Prints macro-F1 (matched sets) and mean average precision (rankings) next to the substring and BM25 baselines,
and checks that SQLite and PostgreSQL produce the same matched sets as the pure matcher.
"""

from __future__ import annotations

import pytest

from bot.papers import ParsedPaper
from bot.topics.topic_service import TopicMatcher, match_topic
from storage.paper_store import store_papers
from tests.relevance.relevance_eval import bm25_ranker, evaluate, load, paperboy_ranker, substring_ranker

# The targets for the offline matcher (no LLM, no embeddings).
MIN_MACRO_F1 = 0.80
MIN_MAP = 0.85

DATA = load()


def test_pure_matcher_scores_and_beats_baselines():
    ours = evaluate(paperboy_ranker(DATA), DATA)
    substring = evaluate(substring_ranker(DATA), DATA)
    bm25 = evaluate(bm25_ranker(DATA), DATA)
    print(f"\nrelevance on {len(DATA['papers'])} papers, {len(DATA['topics'])} topics:")
    print(f"  substring  macro-F1 {substring.macro_f1:.3f}  MAP {substring.mean_ap:.3f}")
    print(f"  BM25       macro-F1 {bm25.macro_f1:.3f}  MAP {bm25.mean_ap:.3f}")
    print(f"  paperboy   macro-F1 {ours.macro_f1:.3f}  MAP {ours.mean_ap:.3f}")
    assert ours.macro_f1 >= MIN_MACRO_F1 and ours.macro_f1 > substring.macro_f1
    assert ours.mean_ap >= MIN_MAP and ours.mean_ap > bm25.mean_ap


@pytest.fixture
async def devset_db(db):
    papers = [ParsedPaper(title=p["title"], abstract=p["abstract"], source="hf-page") for p in DATA["papers"]]
    async with db.session() as s:
        await store_papers(s, papers)
    return db


async def test_database_path_gives_the_same_matches_on_both_backends(devset_db, backend):
    reference = paperboy_ranker(DATA)
    matcher = TopicMatcher()
    for item in DATA["topics"]:
        async with devset_db.session() as s:
            ranked = await match_topic(s, matcher, item["topic"], limit=None)
        via_db = {r.paper.title for r in ranked if r.matched}
        expected = {title for title, _, matched in reference(item["topic"]) if matched}
        assert via_db == expected, (backend, item["topic"])
    scores = evaluate(lambda t: [(r[0], r[1], r[2]) for r in reference(t)], DATA)
    assert scores.macro_f1 >= MIN_MACRO_F1
