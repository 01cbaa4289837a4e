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
import operator
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.feedback.vocabulary import Vocabulary
from bot.topics.matcher import MatchResult
from bot.topics.text_analysis import STOPWORDS, AnalyzedPaper, AnalyzedText

MODEL_VERSION = 3
BARLESS_VERSION = 2  # its bars could come from one click: its weights stay, its bar goes until the next refit
TITLE_WEIGHT = 2.0
MAX_TERMS = 60  # enough for ten judged abstracts, small enough to store, load and score fast
SCORE_SCALE = 6.0  # one centroid similarity of 1.0 moves a score by about a title hit (3.0) at full influence
# Influence n / (n + HALF_INFLUENCE_AT), capped: one judgement barely moves anything, ten count, none rules.
HALF_INFLUENCE_AT = 4.0
MAX_INFLUENCE = 0.75
NOTICE_AT = 0.05  # influence × opinion from which the "why" says the paper looks like judged ones
LABELS = 8
MIN_BAR_JUDGEMENTS = 3
MIN_BAR_GAIN = 2
_COMMON = frozenset("""
paper propos show result demonstr achiev perform improv outperform experi state art task also can
two one first furthermor howev moreov specif significant~ly well large larg extens across
""".split())


def paper_terms(paper: AnalyzedPaper) -> Mapping[str, float]:
    """Content stems of title (counted double) and abstract, plus adjacent pairs: "verifiable reward" says more
    than "verifiable" and "reward" apart. Kept with the analysis (every refit reads 300 background papers'
    terms: computing them each time was most of a judgement's cost); read-only."""
    found = paper.derived.get("learner_terms")
    if isinstance(found, dict):
        return found
    counts: dict[str, float] = {}
    for text, weight in ((paper.title, TITLE_WEIGHT), (paper.abstract, 1.0)):
        for term in _text_terms(text):
            counts[term] = counts.get(term, 0.0) + weight
    paper.derived["learner_terms"] = counts
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
    score: float = 0.0  # the plain matcher's evidence score and decision for this topic
    matched: bool = False
    evidence: bool = False  # the topic (or a synonym, or its concepts together) appears in the paper
    titled: bool = False  # ... in its title: strong evidence, which few judgements never overrule

    @classmethod
    def of(cls, terms: Mapping[str, float], relevant: bool, title: str, result: MatchResult | None) -> Judged:
        """A judged paper with what the plain matcher made of it (None: judged with no topic)."""
        if result is None:
            return cls(terms, relevant, title)
        return cls(terms, relevant, title, result.evidence_score, result.matched,
                   bool(result.hits or result.together), titled(result))


@dataclass
class LearnedModel:
    """Term weights (the relevant papers' centroid minus the others', both unit length) and what they were fit
    on; one dictionary, so a paper's opinion is one sparse dot product."""

    weights: dict[str, float] = field(default_factory=dict)
    relevant_count: int = 0
    not_relevant_count: int = 0
    examples: list[str] = field(default_factory=list)  # titles marked relevant, newest first, for the "why"
    labels: dict[str, str] = field(default_factory=dict)  # the strongest terms as the papers spell them
    # The score from which this channel counts a paper, when its judgements disagree with the matcher's own
    # decision more often than a single score bar would: None keeps the matcher's decision.
    bar: float | None = None
    _written: tuple[str, str] | None = field(default=None, repr=False, compare=False)
    _values: np.ndarray | None = field(default=None, repr=False, compare=False)
    _numbers: tuple[object, np.ndarray] | None = field(default=None, repr=False, compare=False)

    @property
    def judgements(self) -> int:
        return self.relevant_count + self.not_relevant_count

    @property
    def influence(self) -> float:
        n = self.judgements
        return min(MAX_INFLUENCE, n / (n + HALF_INFLUENCE_AT)) if n else 0.0

    def opinion(self, vector: Mapping[str, float]) -> float:
        """Similarity to the relevant papers minus similarity to the others (about -1 to 1), for a paper's
        `paper_vector`: rare words weigh more because the centroids carry their rarity."""
        weights = self.weights
        # A digest run does this for every (channel, topic, paper) it lists: a hundred thousand times with a model
        # on every subscription. So all in C: the model's terms the paper has, then their products, summed in the
        # order of the model's terms (the order it was stored in), so every process gets the same figure.
        shared = list(filter(vector.__contains__, weights))
        if not shared:
            return 0.0
        return float(sum(map(operator.mul, map(weights.__getitem__, shared), map(vector.__getitem__, shared))))

    def weight_array(self) -> np.ndarray:
        """The weights in the order of `weights`, as numpy scores many papers at once (paper_block.py); made once
        per parsed model, which a running bot keeps."""
        if self._values is None or len(self._values) != len(self.weights):
            self._values = np.fromiter(self.weights.values(), dtype=np.float64, count=len(self.weights))
        return self._values

    def word_numbers(self, vocabulary: Vocabulary) -> np.ndarray:
        """Its words' numbers in `vocabulary`, in the order of `weights` (worked out once per vocabulary)."""
        if self._numbers is None or self._numbers[0] is not vocabulary or len(self._numbers[1]) != len(self.weights):
            self._numbers = (vocabulary, vocabulary.number(self.weights))
        return self._numbers[1]

    def decide(self, result: MatchResult) -> bool:
        """Whether the channel would want this paper: the matcher's decision unless a learned bar moved it.

        A paper naming the topic in its title keeps the matcher's decision: that evidence is strong, and ten
        judgements are too few to overrule it. The bar acts on the abstract-only evidence, where a channel's
        line between "a subject of the paper" and "a passing mention" really differs."""
        if self.bar is None or titled(result):
            return result.matched
        if result.matched:
            return result.evidence_score >= self.bar
        return bool(result.hits or result.together) and result.evidence_score >= self.bar

    def adjust(self, result: MatchResult, vector: Mapping[str, float] | None, matched: bool | None = None, *,
               opinion: float | None = None) -> MatchResult:
        """The matcher's result as this channel would want it; unchanged without judgements. `vector` is the
        paper's `paper_vector` (or `opinion`, the model's opinion of it, already worked out); `matched`, when the
        caller already asked `decide`."""
        if not self.judgements:
            return result
        if opinion is None:
            opinion = self.opinion(vector or {})
        push = self.influence * opinion
        if matched is None:
            matched = self.decide(result)
        score = round(max(0.0, result.score + SCORE_SCALE * push), 4)
        note = None
        if matched != result.matched or push >= NOTICE_AT or push <= -NOTICE_AT:  # else (most papers) no note
            notes = []
            if matched and not result.matched:
                notes.append("listed: this channel's judgements count papers that name the topic this much")
            elif result.matched and not matched:
                notes.append("left out: this channel marked papers that name the topic this little not for us")
            if push >= NOTICE_AT and self.examples:
                notes.append(self._notes()[0])
            elif push <= -NOTICE_AT:
                notes.append(self._notes()[1])
            note = "; ".join(notes) or None
        return MatchResult(score, matched, result.hits, result.together, result.together_where, result.similarity,
                           note, result.near)

    def _notes(self) -> tuple[str, str]:
        """The two likeness notes of this model, written once: a digest run adjusts thousands of results."""
        if self._written is None:
            shown = ", ".join(f"“{t}”" for t in self.examples[:2])
            self._written = (f"like {_papers(self.relevant_count)} marked relevant here ({shown})",
                             f"like {_papers(self.not_relevant_count)} marked not for us here")
        return self._written

    def top_terms(self, n: int = 5) -> list[str]:
        """The words that most separate what the channel marked relevant, as the papers spell them."""
        ranked = sorted(((w, t) for t, w in self.weights.items()), reverse=True)
        words = [t for w, t in ranked if w > 0 and " " not in t]
        return [self.labels.get(t, t) for t in words[:n]]

    def to_json(self) -> dict[str, object]:
        return {"version": MODEL_VERSION, "weights": self.weights, "relevant_count": self.relevant_count,
                "not_relevant_count": self.not_relevant_count, "examples": self.examples, "bar": self.bar,
                "labels": self.labels}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> LearnedModel:
        version = data.get("version")
        if version not in (MODEL_VERSION, BARLESS_VERSION):
            return cls()  # an older shape: the plain matcher until the next judgement refits it
        weights = data.get("weights")
        def number(key: str) -> float:
            value = data.get(key)
            return float(value) if isinstance(value, (int, float)) else 0.0
        examples = data.get("examples")
        bar = data.get("bar")
        learned_bar = float(bar) if isinstance(bar, (int, float)) and version == MODEL_VERSION else None
        labels = data.get("labels")
        # Stored by us as JSON: the weights are already str -> float (converting 10,000 models would cost). Their
        # words interned: a running bot keeps tens of thousands of models whose words mostly repeat (half the
        # memory), and a paper's words are interned too, so scoring compares the same string objects.
        terms = {sys.intern(k): v for k, v in weights.items()} if isinstance(weights, dict) else {}
        return cls(terms, int(number("relevant_count")),
                   int(number("not_relevant_count")), examples if isinstance(examples, list) else [],
                   labels if isinstance(labels, dict) else {}, learned_bar)


def fit(judged: Sequence[Judged], background: Sequence[Mapping[str, float]],
        spelled: Mapping[str, str] | None = None) -> LearnedModel:
    """Rocchio on the judged papers; `background` (other stored papers' terms) says which words are common;
    `spelled` (see `spellings`) gives the strongest terms their readable form for `/papers feedback`."""
    documents = [j.terms for j in judged] + list(background)
    df: Counter[str] = Counter(itertools.chain.from_iterable(documents))  # in C: every refit counts 300 papers
    n = len(documents)
    vocabulary = {t for j in judged for t in j.terms}
    idf = {t: math.log((n + 1) / (df[t] + 1)) + 1 for t in vocabulary}
    model = LearnedModel()

    def weighted(terms: Mapping[str, float]) -> dict[str, float]:
        return _unit({t: (1 + math.log(c)) * idf[t] for t, c in terms.items() if c > 0})

    relevant = [weighted(j.terms) for j in judged if j.relevant]
    # A "not for us" on a paper without a word of the topic says little about the topic, and ten such papers
    # (a listing that was not about it) made a noisy centroid that pushed unrelated papers about at random:
    # only negatives that carry the topic shape it, unless no judged paper does (a topic-less "more like this").
    topical = any(j.matched or j.evidence for j in judged)
    others = [weighted(j.terms) for j in judged if not j.relevant and (j.matched or j.evidence or not topical)]
    # The rarity goes into the centroids once, so a paper's own vector needs no model: one per paper per run.
    positive, negative = _centroid(relevant, idf), _centroid(others, idf)
    combined = {t: positive.get(t, 0.0) - negative.get(t, 0.0) for t in positive.keys() | negative.keys()}
    kept = sorted(combined.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:MAX_TERMS]
    model.weights = {t: round(w, 4) for t, w in kept if round(w, 4)}
    model.relevant_count, model.not_relevant_count = len(relevant), len(others)
    model.examples = [_short(j.title) for j in judged if j.relevant][:2]
    model.bar = learn_bar(judged)
    if spelled:
        strongest = sorted(((w, t) for t, w in model.weights.items() if w > 0 and " " not in t), reverse=True)[:LABELS]
        model.labels = {t: " ".join(spelled.get(part, part) for part in t.split(" ")) for _, t in strongest}
    return model


def spellings(papers: Iterable[AnalyzedPaper]) -> dict[str, str]:
    """Each stem's most frequent spelling in these papers ("balanc" -> "balancing"); acronyms keep capitals."""
    seen: dict[str, Counter[str]] = {}
    for paper in papers:
        for text in (paper.title, paper.abstract):
            for word, stemmed in zip(text.tokens, text.stems, strict=True):
                seen.setdefault(stemmed, Counter())[word if word.isupper() else word.lower()] += 1
    return {s: c.most_common(1)[0][0] for s, c in seen.items()}


def learn_bar(judged: Sequence[Judged]) -> float | None:
    """A score bar that agrees with the channel's verdicts better than the matcher's own decision does.

    Only papers that carry the topic count (a match, or a near miss that names it): a paper without a word of
    the topic says nothing about where this channel draws the line. The bar must beat the matcher's decision
    by MIN_BAR_GAIN verdicts, so one click never moves it; among equally good bars the one nearest the
    matcher's own line wins (the midpoint between two judged scores, never beyond them).
    """
    seen = [j for j in judged if (j.matched or j.evidence) and not j.titled]
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


def titled(result: MatchResult) -> bool:
    """Whether the paper names the topic (or its concepts together) in its title."""
    return any(h.where == "title" for h in result.hits) or result.together_where == "title"


def _papers(n: int) -> str:
    return f"{n} paper{'s' if n != 1 else ''}"


def _short(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


PaperVector = dict[str, float]  # a paper as every model scores it: sublinear term counts, unit length


def paper_vector(terms: Mapping[str, float]) -> PaperVector:
    """Built once per paper per run, met by thousands of models; its words interned, as a stored model's are."""
    return _unit({sys.intern(t): 1 + math.log(c) for t, c in terms.items() if c > 0})


def _centroid(vectors: list[dict[str, float]], idf: Mapping[str, float]) -> dict[str, float]:
    if not vectors:
        return {}
    total: Counter[str] = Counter()
    for v in vectors:
        total.update(v)
    top = dict(sorted(((t, w * idf[t]) for t, w in total.items()), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS])
    return {t: round(w, 5) for t, w in _unit(top).items()}


def _unit(vector: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {t: w / norm for t, w in vector.items()} if norm else {}


# What `adjust` notes say of a channel ("this channel's judgements", "not for us"), as a person's own list (their
# DM digest, "for you", their Why) says it: the judgements behind it are theirs.
_AS_PERSONAL = (
    ("this channel's judgements count", "your judgements count"),
    ("this channel marked papers that name the topic this little not for us",
     "you marked papers that name the topic this little not for you"),
    ("marked not for us here", "marked not for you here"),
)


def as_personal(why: str) -> str:
    """A why line for a person's own list, where "this channel" and "us" would be someone else's judgements."""
    for channel, person in _AS_PERSONAL:
        why = why.replace(channel, person)
    return why

