"""The measurement of learning from judgements on the dev set (its own file: with the database tests of
tests/test_feedback.py it made one file the suite's longest tail, and pytest-xdist spreads files).

For every topic labelled on both parts of the dev set, ten tuning papers are judged by their labels and
decisions are measured on the check part, which nothing was tuned on; see tests/relevance/feedback_eval.py.
"""

from __future__ import annotations

import pytest

from tests.relevance.feedback_eval import dev_figures, figures

# The issue's bar: macro-F1 on the check part up by this much over the plain matcher, no topic down by more.
MIN_GAIN = 0.08
MAX_TOPIC_LOSS = 0.02


def _losses(plain, learned) -> dict[str, float]:
    return {t: round(f1 - learned.per_topic[t][0], 3) for t, (f1, _) in plain.per_topic.items()
            if f1 - learned.per_topic[t][0] > MAX_TOPIC_LOSS}


def test_judgements_cost_no_topic_on_papers_nobody_judged():
    """What the learning guarantees today: on the check part and on each split inside the tuning part (judge
    one half, measure the other; the judged papers chosen three ways), macro-F1 does not fall and no topic loses
    more than 0.02; on average over the splits, the ranking (MAP) does not get worse."""
    plain, learned = figures()
    print(f"\ncheck part, {len(plain.per_topic)} judged topics: macro-F1 {plain.macro_f1:.3f} -> "
          f"{learned.macro_f1:.3f}; topics losing > {MAX_TOPIC_LOSS}: {_losses(plain, learned)}")
    assert learned.macro_f1 >= plain.macro_f1 - 1e-9 and not _losses(plain, learned)
    assert learned.mean_ap >= plain.mean_ap - 0.01
    map_changes: dict[str, list[float]] = {}
    for name, protocol, dev_plain, dev_learned in dev_figures():
        assert dev_learned.macro_f1 >= dev_plain.macro_f1 - 1e-9 and not _losses(dev_plain, dev_learned), name
        map_changes.setdefault(protocol, []).append(dev_learned.mean_ap - dev_plain.mean_ap)
    for protocol, changes in map_changes.items():  # the judged papers' words order the rest a little better;
        # ten random papers (mostly off the topic, rarely one relevant) teach next to nothing, and cost nothing
        floor = -0.005 if protocol == "random" else 0.0
        assert sum(changes) / len(changes) >= floor, (protocol, changes)


@pytest.mark.xfail(strict=True, reason="the issue's bar is not reached: +0.001 macro-F1 on the 68 check topics (0.800 "
                                       "-> 0.801), no topic loses; nothing tried gained more than +0.009 on the tuning "
                                       "splits, where perfect decisions on every paper naming the topic would gain "
                                       "only +0.088; see README, Judging papers")
def test_the_issues_bar_gain_of_0_08_and_no_topic_losing_more_than_0_02():
    plain, learned = figures()
    assert learned.macro_f1 - plain.macro_f1 >= MIN_GAIN and not _losses(plain, learned)
