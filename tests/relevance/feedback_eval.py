"""Learning from judgements, measured on the dev set: 10 judgements per topic from the tuning part, figures on
the check part.

The judged papers follow a fixed rule, never the check results: for each topic, the matcher's ten best-ranked
tuning papers (what a channel would have been shown), judged by the dev set's labels, as a reader would.
Only topics labelled on both parts can be judged and measured; the check-only topics have no tuning labels
(no judgements, so the plain matcher's result by construction). Runnable alone:
python -m tests.relevance.feedback_eval
"""

from __future__ import annotations

import random

from bot.feedback.learned_model import Judged, LearnedModel, fit, paper_terms, paper_vector, titled
from bot.topics.glossary import default_glossary
from bot.topics.matcher import match_paper
from bot.topics.text_analysis import AnalyzedPaper
from bot.topics.topic_query import compile_topic
from tests.relevance.relevance_eval import Ranker, Scores, evaluate, load, paperboy_ranker, part

JUDGEMENTS_PER_TOPIC = 10

DATA = load()
TUNING = part(DATA, "tuning")
CHECK = part(DATA, "check")


def shared(data: dict) -> dict:
    """The topics labelled on both parts: the ones a channel could have judged on the tuning part."""
    names = {t["topic"] for t in DATA["topics"] if "part" not in t}
    return {**data, "topics": [t for t in data["topics"] if t["topic"] in names]}


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
    analyzed = {p["title"]: AnalyzedPaper.of(p["title"], p["abstract"]) for p in judged_on["papers"]}
    background = [paper_terms(a) for a in analyzed.values()]
    glossary = default_glossary()
    models = {}
    for item in shared(CHECK)["topics"]:
        query = compile_topic(item["topic"], glossary)
        judged = []
        for title, verdict in judged_papers(item["topic"], judged_on=judged_on, protocol=protocol, seed=seed):
            result = match_paper(query, analyzed[title])
            judged.append(Judged(paper_terms(analyzed[title]), verdict, title, result.evidence_score, result.matched,
                                 bool(result.hits or result.together), titled(result)))
        models[item["topic"]] = fit(judged, background)
    return models


def learned_ranker(data: dict, models: dict[str, LearnedModel]) -> Ranker:
    glossary = default_glossary()
    papers = [(p["title"], AnalyzedPaper.of(p["title"], p["abstract"])) for p in data["papers"]]
    vectors = {title: paper_vector(paper_terms(analyzed)) for title, analyzed in papers}

    def rank(topic: str) -> list[tuple[str, float, bool]]:
        query = compile_topic(topic, glossary)
        model = models.get(topic, LearnedModel())
        results = []
        for title, analyzed in papers:
            result = model.adjust(match_paper(query, analyzed), vectors[title])
            if result.score > 0:
                results.append((title, result.score, result.matched))
        results.sort(key=lambda r: (not r[2], -r[1], r[0]))
        return results

    return rank


def figures() -> tuple[Scores, Scores]:
    data = shared(CHECK)
    return evaluate(paperboy_ranker(data), data), evaluate(learned_ranker(data, learned_models()), data)


def tuning_folds() -> list[tuple[str, dict, dict]]:
    """Development splits inside the tuning part (the check part is never tuned on): judge on one half, measure
    on the other, both ways (papers alternating in page order), and judge on page 000, measure on page 002."""
    papers = TUNING["papers"]
    halves = [papers[0::2], papers[1::2]]
    page = {p: [x for x in papers if x["page"] == p] for p in ("000", "002")}
    splits = [("even->odd", halves[0], halves[1]), ("odd->even", halves[1], halves[0]),
              ("000->002", page["000"], page["002"])]
    return [(name, shared(_subset(judge)), shared(_subset(measure))) for name, judge, measure in splits]


def _subset(papers: list[dict]) -> dict:
    titles = {p["title"] for p in papers}
    return {"papers": papers, "topics": [{**t, "relevant": [r for r in t["relevant"] if r in titles]}
                                         for t in TUNING["topics"]]}


def _seeds(protocol: str) -> range:
    return range(1) if protocol == "shown" else range(SEEDS)


def averaged(plain: Scores, runs: list[Scores]) -> tuple[float, float, float, str]:
    """(mean learned macro-F1, mean MAP, mean over runs of the worst topic's F1 change, that topic)."""
    f1 = sum(r.macro_f1 for r in runs) / len(runs)
    ap = sum(r.mean_ap for r in runs) / len(runs)
    change = {t: sum(r.per_topic[t][0] for r in runs) / len(runs) - f for t, (f, _) in plain.per_topic.items()}
    worst = min(change, key=lambda t: change[t])
    return f1, ap, change[worst], worst


def dev_figures(protocols: tuple[str, ...] = PROTOCOLS) -> list[tuple[str, str, Scores, list[Scores]]]:
    """Plain vs learned on each development split of the tuning part, per judging protocol (each seed)."""
    rows = []
    for name, judge, measure in tuning_folds():
        plain = evaluate(paperboy_ranker(measure), measure)
        for protocol in protocols:
            runs = [evaluate(learned_ranker(measure, learned_models(judge, protocol, seed)), measure)
                    for seed in _seeds(protocol)]
            rows.append((name, protocol, plain, runs))
    return rows


def print_dev(verbose: bool = False) -> None:
    totals: dict[str, list[float]] = {}
    for name, protocol, plain, runs in dev_figures():
        f1, ap, worst, topic = averaged(plain, runs)
        totals.setdefault(protocol, []).append(f1 - plain.macro_f1)
        print(f"tuning split {name:9s} {protocol:8s} macro-F1 {plain.macro_f1:.3f} -> {f1:.3f} "
              f"({f1 - plain.macro_f1:+.3f})  MAP {plain.mean_ap:.3f} -> {ap:.3f}  worst {topic} {worst:+.2f}")
        if verbose:
            for t, (before, _) in plain.per_topic.items():
                after = sum(r.per_topic[t][0] for r in runs) / len(runs)
                if abs(after - before) > 1e-9:
                    print(f"    {t:28s} F1 {before:.2f} -> {after:.2f}")
    for protocol, gains in totals.items():
        print(f"mean gain, {protocol}: {sum(gains) / len(gains):+.3f}")


def main() -> None:
    plain, learned = figures()
    print(f"check part, {len(plain.per_topic)} topics judged 10 times each on the tuning part")
    print(f"  plain matcher   macro-F1 {plain.macro_f1:.3f}  MAP {plain.mean_ap:.3f}")
    print(f"  with judgements macro-F1 {learned.macro_f1:.3f}  MAP {learned.mean_ap:.3f}  "
          f"(F1 {learned.macro_f1 - plain.macro_f1:+.3f})")
    for topic, (f1, _) in plain.per_topic.items():
        after = learned.per_topic[topic][0]
        if abs(after - f1) > 1e-9:
            print(f"  {topic:28s} F1 {f1:.2f} -> {after:.2f}")


if __name__ == "__main__":
    import sys

    print_dev("-v" in sys.argv) if "--dev" in sys.argv else main()
