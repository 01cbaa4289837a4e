"""Relevance regression on the hand-labelled dev set (tests/relevance/devset.json), through the database.

The dev set is split by source page: the tuning part is what the matcher was tuned on, the check part (another
page, plus topics labelled blind to the matcher) never is. The thresholds hold on the check part, because that
is the figure users get on papers and topics nobody tuned for; the tuning figure is printed beside it.
"""

from __future__ import annotations

import pytest

from bot.papers import ParsedPaper
from bot.topics.topic_service import TopicMatcher, match_topic
from storage.paper_store import store_papers
from tests.relevance.relevance_eval import bm25_ranker, evaluate, load, paperboy_ranker, part, substring_ranker

# The targets for the offline matcher (no LLM, no embeddings), on the check part.
MIN_MACRO_F1 = 0.80
MIN_MAP = 0.85

DATA = load()
CHECK = part(DATA, "check")
TUNING = part(DATA, "tuning")


def test_check_part_scores_and_beats_baselines():
    print()
    for name, data in (("tuning", TUNING), ("check", CHECK)):
        ours = evaluate(paperboy_ranker(data), data)
        substring = evaluate(substring_ranker(data), data)
        bm25 = evaluate(bm25_ranker(data), data)
        print(f"{name} part: {len(data['papers'])} papers, {len(data['topics'])} topics")
        print(f"  substring  macro-F1 {substring.macro_f1:.3f}  MAP {substring.mean_ap:.3f}")
        print(f"  BM25       macro-F1 {bm25.macro_f1:.3f}  MAP {bm25.mean_ap:.3f}")
        print(f"  paperboy   macro-F1 {ours.macro_f1:.3f}  MAP {ours.mean_ap:.3f}")
    ours = evaluate(paperboy_ranker(CHECK), CHECK)
    assert ours.macro_f1 >= MIN_MACRO_F1 and ours.macro_f1 > evaluate(substring_ranker(CHECK), CHECK).macro_f1
    assert ours.mean_ap >= MIN_MAP and ours.mean_ap > evaluate(bm25_ranker(CHECK), CHECK).mean_ap


@pytest.fixture
async def check_db(db):
    papers = [ParsedPaper(title=p["title"], abstract=p["abstract"], source="hf-page") for p in CHECK["papers"]]
    async with db.session() as s:
        await store_papers(s, papers)
    return db


async def test_database_path_gives_the_same_matches_on_both_backends(check_db, backend):
    """What `topics match --all` and digests decide through each database equals the pure matcher's decision,
    so the figure above is the figure users get."""
    reference = paperboy_ranker(CHECK)
    matcher = TopicMatcher()
    rankings = {}
    for item in CHECK["topics"]:
        async with check_db.session() as s:
            ranked = await match_topic(s, matcher, item["topic"], limit=None)
            # what `paperboy topics match TOPIC --all --limit 10000 --json` ranks
            rankings[item["topic"]] = [(r.paper.title, r.result.score, r.matched)
                                       for r in await match_topic(s, matcher, item["topic"], limit=10_000)]
        via_db = {r.paper.title for r in ranked if r.matched}
        expected = {title for title, _, matched in reference(item["topic"]) if matched}
        assert via_db == expected, (backend, item["topic"])
    listed = evaluate(lambda topic: rankings[topic], CHECK)
    assert listed.macro_f1 >= MIN_MACRO_F1 and listed.mean_ap >= MIN_MAP, (listed.macro_f1, listed.mean_ap)
