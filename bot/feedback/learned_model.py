"""What a channel taught one topic: a Rocchio model over the judged papers' words, blended with the matcher.

A channel's "relevant" / "not for us" clicks say what *this* channel means by a topic. Ten judgements are far
too few for a classifier over thousands of words, but enough for Rocchio: the centroid of the papers marked
relevant minus the centroid of those marked not for us, over title/abstract stems weighted by how rare they
are. A paper's learned opinion is its similarity to the first centroid minus its similarity to the second.

The plain matcher stays in charge: the opinion moves the score by a bounded amount that grows with the number
of judgements, and flips a decision only when it is clear — a near miss (it shares words with the topic) that
looks like the papers marked relevant joins, a match that looks like the papers marked not for us leaves.
With no judgements the result is the plain matcher's, unchanged. Pure and platform-free: storage keeps the
fitted model as JSON, and refitting one (scope, topic) from its judgements takes milliseconds.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from bot.topics.matcher import MatchResult
from bot.topics.text_analysis import STOPWORDS, AnalyzedPaper, AnalyzedText

MODEL_VERSION = 1
TITLE_WEIGHT = 2.0
MAX_TERMS = 300  # per centroid: enough for ten judged abstracts, small enough to store and score fast
SCORE_SCALE = 6.0  # one centroid similarity of 1.0 moves a score by about a title hit (3.0) at full influence
# Influence n / (n + HALF_INFLUENCE_AT), capped: one judgement barely moves anything, ten count, none rules.
HALF_INFLUENCE_AT = 4.0
MAX_INFLUENCE = 0.75
PROMOTE_AT = 0.12  # influence × opinion needed to add a near miss
DEMOTE_AT = 0.10  # influence × -opinion needed to drop a match
MIN_BAR_JUDGEMENTS = 3
MIN_BAR_GAIN = 1
_COMMON = frozenset("""
paper propos show result demonstr achiev perform improv outperform experi state art task also can
two one first furthermor howev moreov specif significant~ly well large larg extens across
""".split())


def paper_terms(paper: AnalyzedPaper) -> Counter[str]:
    """Content stems of title (counted double) and abstract, plus adjacent pairs: "verifiable reward" says more
    than "verifiable" and "reward" apart."""
    counts: Counter[str] = Counter()
    for text, weight in ((paper.title, TITLE_WEIGHT), (paper.abstract, 1.0)):
        for term in _text_terms(text):
            counts[term] += weight  # type: ignore[assignment]
    return counts


def _text_terms(text: AnalyzedText) -> Iterable[str]:
    previous: str | None = None
    previous_sentence = -1
    for word, stemmed, sentence in zip(text.tokens, text.stems, text.sentence_of, strict=True):
        content = (len(word) > 2 and not word.isdigit() and stemmed not in STOPWORDS and stemmed not in _COMMON)
        if not content:
            previous = None
            continue
        yield stemmed
        if previous is not None and sentence == previous_sentence:
            yield f"{previous} {stemmed}"
        previous, previous_sentence = stemmed, sentence


@dataclass(frozen=True)
class Judged:
    """One judged paper as the model sees it: its terms, the matcher's verdict on it, the channel's verdict."""

    terms: Mapping[str, float]
    relevant: bool
    title: str = ""
    score: float = 0.0  # the plain matcher's score and decision for this topic
    matched: bool = False
    evidence: bool = False  # the topic (or a synonym, or its concepts together) appears in the paper


@dataclass
class LearnedModel:
    """Two centroids (term -> weight, unit length) and what they were fit on."""

    relevant: dict[str, float] = field(default_factory=dict)
    not_relevant: dict[str, float] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)
    default_idf: float = 1.0
    relevant_count: int = 0
    not_relevant_count: int = 0
    examples: list[str] = field(default_factory=list)  # titles marked relevant, newest first, for the "why"
    # The score from which this channel counts a paper, when its judgements disagree with the matcher's own
    # decision more often than a single score bar would: None keeps the matcher's decision.
    bar: float | None = None

    @property
    def judgements(self) -> int:
        return self.relevant_count + self.not_relevant_count

    @property
    def influence(self) -> float:
        n = self.judgements
        return min(MAX_INFLUENCE, n / (n + HALF_INFLUENCE_AT)) if n else 0.0

    def vector(self, terms: Mapping[str, float]) -> dict[str, float]:
        weighted = {t: (1 + math.log(c)) * self.idf.get(t, self.default_idf) for t, c in terms.items() if c > 0}
        return _unit(weighted)

    def opinion(self, paper: AnalyzedPaper | Mapping[str, float]) -> float:
        """Similarity to the relevant papers minus similarity to the others, in [-1, 1]."""
        terms = paper_terms(paper) if isinstance(paper, AnalyzedPaper) else paper
        x = self.vector(terms)
        return _dot(x, self.relevant) - _dot(x, self.not_relevant)

    def adjust(self, result: MatchResult, paper: AnalyzedPaper) -> MatchResult:
        """The matcher's result as this channel would want it; unchanged without judgements."""
        if not self.judgements:
            return result
        push = self.influence * self.opinion(paper)
        matched = result.matched
        evidence = bool(result.hits or result.together)
        if self.bar is not None:
            if not matched and evidence and result.score >= self.bar:
                matched = True
            elif matched and result.score < self.bar:
                matched = False
        score = round(max(0.0, result.score + SCORE_SCALE * push), 4)
        learned = None
        if push >= PROMOTE_AT / 2 and self.examples:
            learned = f"like {self.relevant_count} paper{'s' if self.relevant_count != 1 else ''} marked relevant here"
        elif push <= -DEMOTE_AT / 2:
            learned = f"like {self.not_relevant_count} paper{'s' if self.not_relevant_count != 1 else ''} " \
                      "marked not for us here"
        return replace(result, score=score, matched=matched, learned=learned)

    def top_terms(self, n: int = 5) -> list[str]:
        """The words that most separate what the channel marked relevant, single words first."""
        ranked = sorted(((w - self.not_relevant.get(t, 0.0), t) for t, w in self.relevant.items()), reverse=True)
        words = [t for w, t in ranked if w > 0 and " " not in t]
        return words[:n]

    def to_json(self) -> dict[str, object]:
        return {"version": MODEL_VERSION, "relevant": self.relevant, "not_relevant": self.not_relevant,
                "idf": self.idf, "default_idf": self.default_idf, "relevant_count": self.relevant_count,
                "not_relevant_count": self.not_relevant_count, "examples": self.examples, "bar": self.bar}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> LearnedModel:
        if data.get("version") != MODEL_VERSION:
            return cls()  # an older shape: the plain matcher until the next judgement refits it
        def floats(key: str) -> dict[str, float]:
            value = data.get(key)
            return {str(k): float(v) for k, v in value.items()} if isinstance(value, dict) else {}
        def number(key: str) -> float:
            value = data.get(key)
            return float(value) if isinstance(value, (int, float)) else 0.0
        examples = data.get("examples")
        bar = data.get("bar")
        return cls(floats("relevant"), floats("not_relevant"), floats("idf"), number("default_idf") or 1.0,
                   int(number("relevant_count")), int(number("not_relevant_count")),
                   [str(e) for e in examples] if isinstance(examples, list) else [],
                   float(bar) if isinstance(bar, (int, float)) else None)


def fit(judged: Sequence[Judged], background: Sequence[Mapping[str, float]]) -> LearnedModel:
    """Rocchio on the judged papers; `background` (other stored papers' terms) says which words are common."""
    documents = [j.terms for j in judged] + list(background)
    df: Counter[str] = Counter(t for d in documents for t in d)
    n = len(documents)
    default_idf = math.log((n + 1) / 1) + 1
    vocabulary = {t for j in judged for t in j.terms}
    idf = {t: math.log((n + 1) / (df[t] + 1)) + 1 for t in vocabulary}
    model = LearnedModel(idf=idf, default_idf=default_idf)
    relevant = [model.vector(j.terms) for j in judged if j.relevant]
    others = [model.vector(j.terms) for j in judged if not j.relevant]
    model.relevant = _centroid(relevant)
    model.not_relevant = _centroid(others)
    kept = set(model.relevant) | set(model.not_relevant)
    model.idf = {t: round(v, 4) for t, v in idf.items() if t in kept}
    model.relevant_count, model.not_relevant_count = len(relevant), len(others)
    model.examples = [j.title for j in judged if j.relevant][:3]
    model.bar = learn_bar(judged)
    return model


def learn_bar(judged: Sequence[Judged]) -> float | None:
    """A score bar that agrees with the channel's verdicts better than the matcher's own decision does.

    Only papers that carry the topic count (a match, or a near miss that names it): a paper without a word of
    the topic says nothing about where this channel draws the line. The bar must beat the matcher's decision
    by MIN_BAR_GAIN verdicts, so one click never moves it; among equally good bars the one nearest the
    matcher's own line wins (the midpoint between two judged scores, never beyond them).
    """
    seen = [j for j in judged if j.matched or j.evidence]
    if len(seen) < MIN_BAR_JUDGEMENTS:
        return None
    plain_errors = sum(j.matched != j.relevant for j in seen)
    scores = sorted({j.score for j in seen})
    best: tuple[int, float] | None = None
    for low, high in itertools.pairwise(scores):
        bar = (low + high) / 2
        errors = sum((j.score >= bar) != j.relevant for j in seen)
        if best is None or errors < best[0]:
            best = (errors, bar)
    if best is None or plain_errors - best[0] < MIN_BAR_GAIN:
        return None
    return round(best[1], 4)


def _centroid(vectors: list[dict[str, float]]) -> dict[str, float]:
    if not vectors:
        return {}
    total: Counter[str] = Counter()
    for v in vectors:
        total.update(v)
    top = dict(sorted(total.items(), key=lambda kv: -kv[1])[:MAX_TERMS])
    return {t: round(w, 5) for t, w in _unit(top).items()}


def _unit(vector: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {t: w / norm for t, w in vector.items()} if norm else {}


def _dot(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())
