"""Learning from judgements, measured on the dev set: 10 judgements per topic from the tuning part, figures on
the check part.

The judged papers follow a fixed rule, never the check results: for each topic, the matcher's ten best-ranked
tuning papers (what a channel would have been shown), judged by the dev set's labels, as a reader would.
Only topics labelled on both parts can be judged and measured; the check-only topics have no tuning labels
(no judgements, so the plain matcher's result by construction). Runnable alone:
python -m tests.relevance.feedback_eval
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from bot.feedback.learned_model import Judged, LearnedModel, fit, paper_terms, paper_vector
from tests.relevance.relevance_eval import Ranker, Scores, analyzed, evaluate, load, paperboy_ranker, part, plain_match

JUDGEMENTS_PER_TOPIC = 10
# The check part's own topics labelled on the tuning part too (this session, blind to the matcher, by three
# labellers following each topic's notes), so they can be judged there: topics the matcher was never tuned on.
FRESH_LABELS = Path(__file__).parent / "check_topics_on_tuning.json"

DATA = load()


def _labelled_on_both() -> tuple[dict, dict, frozenset[str]]:
    """(tuning, check, fresh topic names): each part's papers with every topic labelled on both parts."""
    tuning, check = part(DATA, "tuning"), part(DATA, "check")
    on_tuning = {t["topic"]: t for t in tuning["topics"]}
    fresh = frozenset(t["topic"] for t in json.loads(FRESH_LABELS.read_text())["topics"]
                      if t["topic"] not in on_tuning)
    for item in json.loads(FRESH_LABELS.read_text())["topics"]:
        on_tuning.setdefault(item["topic"], {"topic": item["topic"], "relevant": item["relevant"]})
    names = [t["topic"] for t in check["topics"] if t["topic"] in on_tuning]
    on_check = {t["topic"]: t for t in check["topics"]}
    return ({**tuning, "topics": [on_tuning[n] for n in names]},
            {**check, "topics": [on_check[n] for n in names]}, fresh)


TUNING, CHECK, FRESH = _labelled_on_both()


def shared(data: dict, which: str = "all") -> dict:
    """The topics judged and measured: "all", "seen" (the matcher was tuned on their tuning labels) or "fresh"
    (the check part's own topics, which it never was)."""
    keep = {t["topic"] for t in CHECK["topics"]}
    if which != "all":
        keep = {t for t in keep if (t in FRESH) == (which == "fresh")}
    return {**data, "topics": [t for t in data["topics"] if t["topic"] in keep]}


# How the ten judged papers are chosen. "shown": the matcher's ten best (what a channel was listed, so mostly
# papers it already matches); "balanced": up to five papers labelled relevant and the rest not, at random (a
# reader who also flags what the bot missed); "random": any ten papers. The last two are averaged over SEEDS.
PROTOCOLS = ("shown", "balanced", "random")
SEEDS = 5


def judged_papers(topic: str, n: int = JUDGEMENTS_PER_TOPIC, judged_on: dict | None = None,
                  protocol: str = "shown", seed: int = 0) -> list[tuple[str, bool]]:
    """(title, relevant) for `n` papers of the judged part chosen by `protocol`, judged by the labels."""
    judged_on = judged_on or TUNING
    relevant = next(set(t["relevant"]) for t in judged_on["topics"] if t["topic"] == topic)
    if protocol == "shown":
        return [(title, title in relevant) for title, _, _ in paperboy_ranker(judged_on)(topic)[:n]]
    rng = random.Random(f"{seed}:{topic}")
    titles = sorted(p["title"] for p in judged_on["papers"])
    if protocol == "random":
        chosen = rng.sample(titles, n)
    else:
        positives = rng.sample(sorted(relevant), min(n // 2, len(relevant)))
        chosen = positives + rng.sample([t for t in titles if t not in relevant], n - len(positives))
    return [(title, title in relevant) for title in chosen]


def learned_models(judged_on: dict | None = None, protocol: str = "shown", seed: int = 0
                   ) -> dict[str, LearnedModel]:
    """One model per shared topic, fit on ten judgements from `judged_on` (the tuning part by default), with
    the background (which words are common) from the same papers, as a channel's stored papers would give."""
    judged_on = judged_on or TUNING
    abstracts = {p["title"]: p["abstract"] for p in judged_on["papers"]}
    background = [paper_terms(analyzed(title, abstract)) for title, abstract in abstracts.items()]
    models = {}
    for item in judged_on["topics"]:
        judged = []
        for title, verdict in judged_papers(item["topic"], judged_on=judged_on, protocol=protocol, seed=seed):
            result = plain_match(item["topic"], title, abstracts[title])
            judged.append(Judged.of(paper_terms(analyzed(title, abstracts[title])), verdict, title, result))
        models[item["topic"]] = fit(judged, background)
    return models


def learned_ranker(data: dict, models: dict[str, LearnedModel]) -> Ranker:
    papers = [(p["title"], p["abstract"]) for p in data["papers"]]
    vectors = {title: paper_vector(paper_terms(analyzed(title, abstract))) for title, abstract in papers}

    def rank(topic: str) -> list[tuple[str, float, bool]]:
        model = models.get(topic, LearnedModel())
        results = []
        for title, abstract in papers:
            result = model.adjust(plain_match(topic, title, abstract), vectors[title])
            if result.score > 0:
                results.append((title, result.score, result.matched))
        results.sort(key=lambda r: (not r[2], -r[1], r[0]))
        return results

    return rank


def figures(which: str = "all") -> tuple[Scores, Scores]:
    """Plain vs learned on the check part, every topic (of `which` group) judged ten times on the tuning part
    (the matcher's ten best)."""
    data = shared(CHECK, which)
    return evaluate(paperboy_ranker(data), data), evaluate(learned_ranker(data, learned_models()), data)


def macro_f1(scores: Scores, which: str) -> float:
    """Macro-F1 over one group of topics ("all", "seen", "fresh")."""
    f1s = [f for t, (f, _) in scores.per_topic.items() if which == "all" or (t in FRESH) == (which == "fresh")]
    return sum(f1s) / len(f1s) if f1s else 0.0


def tuning_folds() -> list[tuple[str, dict, dict]]:
    """Development splits inside the tuning part (the check part is never tuned on): judge on one half, measure
    on the other, both ways (papers alternating in page order, and two seeded shuffles), and judge on page
    000, measure on page 002."""
    papers = TUNING["papers"]
    halves = [papers[0::2], papers[1::2]]
    page = {p: [x for x in papers if x["page"] == p] for p in ("000", "002")}
    splits = [("even->odd", halves[0], halves[1]), ("odd->even", halves[1], halves[0]),
              ("000->002", page["000"], page["002"])]
    for seed in (1, 2):
        shuffled = random.Random(seed).sample(papers, len(papers))
        middle = len(shuffled) // 2
        splits.append((f"shuffle{seed}", shuffled[:middle], shuffled[middle:]))
    return [(name, shared(_subset(judge)), shared(_subset(measure))) for name, judge, measure in splits]


def _subset(papers: list[dict]) -> dict:
    titles = {p["title"] for p in papers}
    return {"papers": papers, "topics": [{**t, "relevant": [r for r in t["relevant"] if r in titles]}
                                         for t in TUNING["topics"]]}


def _seeds(protocol: str) -> range:
    return range(1) if protocol == "shown" else range(SEEDS)


def mean_scores(runs: list[Scores]) -> Scores:
    """Several seeds' scores as one: per-topic F1 and AP averaged."""
    per_topic = {}
    for topic, (_, ap) in runs[0].per_topic.items():
        aps = [r.per_topic[topic][1] for r in runs]
        per_topic[topic] = (sum(r.per_topic[topic][0] for r in runs) / len(runs),
                            None if ap is None else sum(a or 0.0 for a in aps) / len(aps))
    return Scores(sum(r.macro_f1 for r in runs) / len(runs), sum(r.mean_ap for r in runs) / len(runs), per_topic)


def worst_loss(plain: Scores, learned: Scores) -> tuple[float, str]:
    change = {t: learned.per_topic[t][0] - f for t, (f, _) in plain.per_topic.items()}
    worst = min(change, key=lambda t: change[t])
    return change[worst], worst


def dev_figures(protocols: tuple[str, ...] = PROTOCOLS) -> list[tuple[str, str, Scores, Scores]]:
    """Plain vs learned (averaged over seeds) on each development split of the tuning part, per protocol."""
    rows = []
    for name, judge, measure in tuning_folds():
        plain = evaluate(paperboy_ranker(measure), measure)
        for protocol in protocols:
            runs = [evaluate(learned_ranker(measure, learned_models(judge, protocol, seed)), measure)
                    for seed in _seeds(protocol)]
            rows.append((name, protocol, plain, mean_scores(runs)))
    return rows


def _line(label: str, plain: Scores, learned: Scores) -> str:
    groups = "  ".join(f"{w} {macro_f1(plain, w):.3f}->{macro_f1(learned, w):.3f} "
                       f"({macro_f1(learned, w) - macro_f1(plain, w):+.3f})" for w in ("all", "seen", "fresh"))
    loss, topic = worst_loss(plain, learned)
    return f"{label} F1 {groups}  MAP {plain.mean_ap:.3f}->{learned.mean_ap:.3f}  worst {topic} {loss:+.2f}"


def print_dev(verbose: bool = False) -> None:
    gains: dict[str, list[float]] = {}
    for name, protocol, plain, learned in dev_figures():
        for w in ("all", "seen", "fresh"):
            gains.setdefault(f"{protocol:8s} {w}", []).append(macro_f1(learned, w) - macro_f1(plain, w))
        print(_line(f"{name:9s} {protocol:8s}", plain, learned))
        if verbose:
            for t, (before, _) in plain.per_topic.items():
                after = learned.per_topic[t][0]
                if abs(after - before) > 1e-9:
                    print(f"    {t:38s} F1 {before:.2f} -> {after:.2f}")
    for key, values in gains.items():
        print(f"mean gain over splits, {key}: {sum(values) / len(values):+.3f}")


def check_figures(protocol: str) -> tuple[Scores, Scores]:
    """Plain vs learned on the check part, every topic judged on the tuning part by `protocol` (seeds averaged)."""
    data = shared(CHECK)
    runs = [evaluate(learned_ranker(data, learned_models(TUNING, protocol, seed)), data) for seed in _seeds(protocol)]
    return evaluate(paperboy_ranker(data), data), mean_scores(runs)


def main() -> None:
    plain, _ = figures()
    print(f"check part, {len(plain.per_topic)} topics ({len(FRESH)} fresh: the matcher was never tuned on them), "
          "each judged 10 times on the tuning part")
    for protocol in PROTOCOLS:
        plain, learned = check_figures(protocol)
        print(_line(f"  {protocol:8s}", plain, learned))
        for topic, (f1, _) in plain.per_topic.items():
            after = learned.per_topic[topic][0]
            if abs(after - f1) > 1e-9:
                print(f"    {topic:38s} F1 {f1:.2f} -> {after:.2f}")


if __name__ == "__main__":
    import sys

    print_dev("-v" in sys.argv) if "--dev" in sys.argv else main()
