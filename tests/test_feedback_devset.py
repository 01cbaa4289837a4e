"""The dev set's judgements through the database: channel A learns, channel B is still the plain matcher, on both
backends. Apart from tests/test_feedback.py (and the CLI's in tests/test_feedback_cli.py) because each takes a
minute or more: with `--dist loadfile` a file runs on one worker, and one long file was the suite's tail."""

from __future__ import annotations

import pytest

from bot.feedback import feedback_service
from bot.topics.topic_service import TopicMatcher, match_topic
from storage.paper_store import find_paper
from tests.feedback_fixtures import CHANNEL_A, CHANNEL_B, DEVSET_IDS
from tests.relevance.feedback_eval import CHECK, figures, judged_papers, shared
from tests.relevance.relevance_eval import evaluate


async def _ranking(db, matcher, scope, topic):
    async with db.session() as s:
        if scope is None:
            ranked = await match_topic(s, matcher, topic, limit=10_000)
        else:
            ranked = await feedback_service.match_topic_for(s, matcher, scope, topic, limit=10_000)
    return [(r.paper.title, r.result.score, r.matched) for r in ranked]


async def test_judged_in_channel_a_learned_through_the_database_and_channel_b_unchanged(devset_db, backend):
    """Every judgement goes through the database and refits; channel A's decisions on the check part are the
    measured ones, channel B (no judgements) still gets exactly the plain matcher."""
    matcher = TopicMatcher()
    data = shared(CHECK, "seen")
    for item in data["topics"]:
        for title, verdict in judged_papers(item["topic"]):
            async with devset_db.session() as s:
                paper = await find_paper(s, DEVSET_IDS[title])
                await feedback_service.judge(s, matcher, CHANNEL_A, item["topic"], paper, "alice", verdict)
    check_titles = {p["title"] for p in data["papers"]}
    rankings: dict[str, dict[str, list]] = {"plain": {}, "a": {}, "b": {}}
    for item in data["topics"]:
        for name, scope in (("plain", None), ("a", CHANNEL_A), ("b", CHANNEL_B)):
            ranked = await _ranking(devset_db, matcher, scope, item["topic"])
            rankings[name][item["topic"]] = [r for r in ranked if r[0] in check_titles]
    assert rankings["b"] == rankings["plain"]
    plain = evaluate(lambda t: rankings["plain"][t], data)
    learned = evaluate(lambda t: rankings["a"][t], data)
    _, pure_learned = figures("seen")
    print(f"\n{backend}: check part macro-F1 {plain.macro_f1:.3f} -> {learned.macro_f1:.3f}")
    assert learned.macro_f1 == pytest.approx(pure_learned.macro_f1, abs=0.01)
    assert learned.macro_f1 >= plain.macro_f1 - 1e-9
    assert rankings["a"] != rankings["plain"]  # channel A's judged papers' words reorder its lists


