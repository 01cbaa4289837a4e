"""`paperboy topics feedback` and `topics match --channel` over the dev set, in processes of their own (see
tests/test_feedback_devset.py for why this file stands apart)."""

from __future__ import annotations

import json

from tests.cli_runner import paperboy
from tests.feedback_fixtures import DEVSET_IDS
from tests.relevance.feedback_eval import judged_papers


async def test_cli_feedback_changes_that_channels_ranking_only(devset_db, db_env):
    """`paperboy topics feedback` then `topics match --channel`: the judged channel's ranking moves, the other
    channel's and the plain ranking stay as they were; bad input changes nothing."""
    topic = "fairness"
    before = paperboy("topics", "match", topic, "--all", "--limit", "300", "--json", env=db_env)
    assert before.code == 0, before.err
    for title, verdict in judged_papers(topic):
        result = paperboy("topics", "feedback", topic, DEVSET_IDS[title], "--relevant" if verdict else "--not-relevant",
                          "--channel", "lab-a", "--user", "alice", env=db_env)
        assert result.code == 0 and "marked" in result.out, result.err
    mine = json.loads(paperboy("topics", "match", topic, "--channel", "lab-a", "--all", "--limit", "300", "--json",
                               env=db_env).out)
    other = json.loads(paperboy("topics", "match", topic, "--channel", "lab-b", "--all", "--limit", "300",
                                "--json", env=db_env).out)
    plain = json.loads(paperboy("topics", "match", topic, "--all", "--limit", "300", "--json", env=db_env).out)
    assert plain == json.loads(before.out) == other
    # ten judgements reorder the channel's list (the judged papers' words), they flip no decision of the matcher's
    assert [(r["title"], r["score"]) for r in mine] != [(r["title"], r["score"]) for r in plain]
    assert any("marked" in r["why"] for r in mine)
    bad = paperboy("topics", "feedback", topic, "2599.99999", "--relevant", "--channel", "lab-a", env=db_env)
    assert bad.code == 2 and "no stored paper" in bad.err and "Traceback" not in bad.err
    neither = paperboy("topics", "feedback", topic, DEVSET_IDS[judged_papers(topic)[0][0]], "--channel", "lab-a",
                       env=db_env)
    assert neither.code == 2 and "--relevant" in neither.err
