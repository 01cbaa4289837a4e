"""Relevance metrics on the hand-labelled development set: macro-F1 of matched sets, mean average precision.

Also computes the two baselines the issue quotes (substring matching, BM25) so the printout shows where we
stand against them. Used by tests/test_relevance.py and runnable alone: python -m tests.relevance.relevance_eval
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.topics.glossary import default_glossary
from bot.topics.matcher import MatchResult, match_paper
from bot.topics.text_analysis import AnalyzedPaper, stem, tokenize
from bot.topics.topic_query import TopicQuery, compile_topic

DEVSET = Path(__file__).parent / "devset.json"
SECOND = Path(__file__).parent / "check_second_labeller.json"

Ranker = Callable[[str], list[tuple[str, float, bool]]]  # topic -> [(title, score, matched)] best first


@dataclass
class Scores:
    macro_f1: float
    mean_ap: float
    per_topic: dict[str, tuple[float, float | None]]
    p_at_10: float = 0.0


PARTS = ("tuning", "check")


def load() -> dict:
    return json.loads(DEVSET.read_text())


def second_labeller(data: dict) -> dict:
    """The check part with its check-only topics labelled by the second, independent labeller."""
    second = {t["topic"]: t["relevant"] for t in json.loads(SECOND.read_text())["topics"]}
    return {**data, "topics": [{**t, "relevant": second.get(t["topic"], t["relevant"])} if t.get("part") == "check"
                               else t for t in data["topics"]]}


def part(data: dict, name: str) -> dict:
    """One part of the dev set as its own corpus: its papers, and every topic labelled on it (the shared topics
    and the part's own), with relevance restricted to its papers. The check part is never tuned on."""
    papers = [p for p in data["papers"] if p["part"] == name]
    titles = {p["title"] for p in papers}
    topics = [
        {**t, "relevant": [r for r in t["relevant"] if r in titles]}
        for t in data["topics"]
        if t.get("part", name) == name
    ]
    return {"papers": papers, "topics": topics}


def evaluate(ranker: Ranker, data: dict) -> Scores:
    per_topic: dict[str, tuple[float, float | None]] = {}
    precisions: list[float] = []
    for item in data["topics"]:
        relevant = set(item["relevant"])
        ranked = ranker(item["topic"])
        predicted = {title for title, _, matched in ranked if matched}
        tp = len(predicted & relevant)
        if not relevant and not predicted:
            f1 = 1.0
        else:
            f1 = 2 * tp / (len(predicted) + len(relevant)) if (predicted or relevant) else 1.0
        ap = None
        if relevant:
            hits, total = 0, 0.0
            for rank, (title, _, _) in enumerate(ranked, start=1):
                if title in relevant:
                    hits += 1
                    total += hits / rank
            ap = total / len(relevant)
            top = ranked[: min(10, len(relevant))]
            precisions.append(sum(1 for title, _, _ in top if title in relevant) / min(10, len(relevant)))
        per_topic[item["topic"]] = (f1, ap)
    f1s = [f for f, _ in per_topic.values()]
    aps = [a for _, a in per_topic.values() if a is not None]
    return Scores(sum(f1s) / len(f1s), sum(aps) / len(aps), per_topic, sum(precisions) / len(precisions))


# The learning measurement (tests/relevance/feedback_eval.py) ranks the same papers for the same topics once per
# split, protocol and seed: analysing and matching them again each time was most of its two minutes in CI. The
# matcher is pure, so each (paper, topic) is worked out once per process.
@functools.cache
def analyzed(title: str, abstract: str) -> AnalyzedPaper:
    return AnalyzedPaper.of(title, abstract)


@functools.cache
def plain_match(topic: str, title: str, abstract: str) -> MatchResult:
    """The plain matcher's result for one paper and topic (the default glossary)."""
    return match_paper(_compiled(topic), analyzed(title, abstract))


@functools.cache
def _compiled(topic: str) -> TopicQuery:
    return compile_topic(topic, default_glossary())


def paperboy_ranker(data: dict) -> Ranker:
    papers = [(p["title"], p["abstract"]) for p in data["papers"]]

    def rank(topic: str) -> list[tuple[str, float, bool]]:
        results = []
        for title, abstract in papers:
            result = plain_match(topic, title, abstract)
            if result.score > 0:
                results.append((title, result.score, result.matched))
        results.sort(key=lambda r: (-r[1], r[0]))
        return results

    return rank


def substring_ranker(data: dict) -> Ranker:
    def rank(topic: str) -> list[tuple[str, float, bool]]:
        t = topic.lower()
        hits = [(p["title"], 1.0, True) for p in data["papers"] if t in (p["title"] + " " + p["abstract"]).lower()]
        return hits

    return rank


def bm25_ranker(data: dict, k1: float = 1.2, b: float = 0.75) -> Ranker:
    docs = [[stem(w) for w in tokenize(p["title"] + " " + p["abstract"])] for p in data["papers"]]
    avg = sum(map(len, docs)) / len(docs)
    df: Counter[str] = Counter(w for d in docs for w in set(d))
    tfs = [Counter(d) for d in docs]

    def rank(topic: str) -> list[tuple[str, float, bool]]:
        words = [stem(w) for w in tokenize(topic)]
        results = []
        for p, doc, tf in zip(data["papers"], docs, tfs, strict=True):
            score = 0.0
            for w in words:
                if tf[w]:
                    idf = math.log(1 + (len(docs) - df[w] + 0.5) / (df[w] + 0.5))
                    score += idf * tf[w] * (k1 + 1) / (tf[w] + k1 * (1 - b + b * len(doc) / avg))
            if score > 0:
                results.append((p["title"], score, True))
        results.sort(key=lambda r: -r[1])
        return results

    return rank


def main() -> None:
    data = load()
    parts = {name: part(data, name) for name in PARTS}
    heads = [f"{name} ({len(d['papers'])} papers, {len(d['topics'])} topics)" for name, d in parts.items()]
    print(f"{'':10s}" + "".join(f"{h:>40s}" for h in heads))
    for label, make in (("substring", substring_ranker), ("bm25", bm25_ranker), ("paperboy", paperboy_ranker)):
        row = []
        for d in parts.values():
            s = evaluate(make(d), d)
            row.append(f"F1 {s.macro_f1:.3f}  MAP {s.mean_ap:.3f}  P@R10 {s.p_at_10:.3f}")
        print(f"{label:10s}" + "".join(f"{r:>40s}" for r in row))
    other = part(second_labeller(data), "check")
    s = evaluate(paperboy_ranker(other), other)
    second = f"second labeller: F1 {s.macro_f1:.3f}  MAP {s.mean_ap:.3f}"
    print(f"{'paperboy':10s}{'':40s}{second:>40s}")
    tuning = parts["tuning"]
    scores = evaluate(paperboy_ranker(tuning), tuning)
    print("\nper topic, tuning part only (the check part is never inspected topic by topic):")
    for topic, (f1, ap) in scores.per_topic.items():
        print(f"  {topic:28s} F1 {f1:.2f}  AP {'-' if ap is None else f'{ap:.2f}'}")


if __name__ == "__main__":
    main()
