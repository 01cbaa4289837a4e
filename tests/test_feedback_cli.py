"""`paperboy topics feedback` and `topics match --channel` over the dev set, in processes of their own (see
tests/test_feedback_devset.py for why this file stands apart)."""

from __future__ import annotations

import json

from tests.cli_runner import paperboy
from tests.feedback_fixtures import DEVSET_IDS
from tests.relevance.feedback_eval import judged_papers

TOPIC = "fairness"


def _match(db_env, *channel: str) -> list[dict]:
    result = paperboy("topics", "match", TOPIC, *channel, "--all", "--limit", "300", "--json", env=db_env)
    assert result.code == 0, result.err
    return json.loads(result.out)


def _feedback(db_env, refs: list[str], *verdict: str):
    return paperboy("topics", "feedback", TOPIC, *refs, *verdict, "--channel", "lab-a", "--user", "alice", env=db_env)


async def test_cli_feedback_changes_that_channels_ranking_only(devset_db, db_env):
    """`paperboy topics feedback` (several papers at once, as a script judges) then `topics match --channel`: the
    judged channel's ranking moves, the other channel's and the plain ranking stay as they were; bad input,
    even one bad reference among good ones, changes nothing."""
    before = _match(db_env)
    judged = judged_papers(TOPIC)
    liked = [DEVSET_IDS[title] for title, verdict in judged if verdict]
    disliked = [DEVSET_IDS[title] for title, verdict in judged if not verdict]
    assert liked and disliked  # the ten papers listed first hold both verdicts

    mixed = _feedback(db_env, [liked[0], "2599.99999", "2599.99998"], "--relevant")
    assert mixed.code == 2 and "no stored paper '2599.99999' (and 1 more); nothing was marked" in mixed.err
    assert "Traceback" not in mixed.err
    assert _match(db_env, "--channel", "lab-a") == before  # not even the good reference was judged

    for refs, verdict in ((liked, "--relevant"), (disliked, "--not-relevant")):
        result = _feedback(db_env, refs, verdict)
        assert result.code == 0, result.err
        assert result.out.count(" marked ") == len(refs), result.out
    assert f"learned from {len(judged)} judged papers" in result.out.splitlines()[-1]

    mine, other, plain = _match(db_env, "--channel", "lab-a"), _match(db_env, "--channel", "lab-b"), _match(db_env)
    assert plain == before == other
    # ten judgements reorder the channel's list (the judged papers' words), they flip no decision of the matcher's
    assert [(r["title"], r["score"]) for r in mine] != [(r["title"], r["score"]) for r in plain]
    assert any("marked" in r["why"] for r in mine)
    neither = _feedback(db_env, liked[:1])
    assert neither.code == 2 and "--relevant" in neither.err
    too_many = _feedback(db_env, liked[:1] * 101, "--relevant")
    assert too_many.code == 2 and "at most 100 papers" in too_many.err


def test_contradicting_flags_are_refused_not_settled_by_the_last_one(db_env):
    """`--relevant --not-relevant` judged the papers by whichever came last; `run --console --no-console` ran by
    the last one too. Both given: one line naming the pair, exit 2, nothing judged or started."""
    for args, pair in ((["topics", "feedback", TOPIC, "#1", "--relevant", "--not-relevant"],
                        "--relevant or --not-relevant"),
                       (["topics", "feedback", TOPIC, "#1", "--not-relevant", "--relevant"],
                        "--relevant or --not-relevant"),
                       (["run", "--console", "--no-console"], "--console or --no-console"),
                       (["run", "--no-console", "--console"], "--console or --no-console")):
        result = paperboy(*args, env=db_env, timeout=60)
        assert result.code == 2, (args, result.out, result.err)
        assert f"use either {pair}, not both" in result.err, (args, result.err)
        assert "Traceback" not in result.err and result.out == "", (args, result.out)
