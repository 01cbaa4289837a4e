"""Words, stems and sentences of a paper's text, indexed once so that many topics can be checked cheaply.

Matching 1,000 subscriptions against a day's papers means hundreds of thousands of (topic, paper) checks;
each check must be a few dictionary lookups, so all tokenising and stemming happens here, once per paper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

from bot.compounds import COMPOUND_RE
from bot.topics.acronyms import find_definitions

_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")
_STEMMER = snowballstemmer.stemmer("english")

# Stems that stemming alone does not join but researchers use interchangeably ("graph neural nets").
_STEM_EQUIVALENTS = {"net": "network"}

STOPWORDS = frozenset("""
a an and are as at be by for from has have in into is it its of on or that the their this to was were which
with we our via using use based towards toward new novel approach approaches method methods
""".split())


_IZE_RE = re.compile(r"(?:iz(?:e|es|ed|ing|ation|ations|er|ers)|isations?)$")
_AGENT_RE = re.compile(r"(?:er|or)s?$")
_BRITISH_RE = re.compile(r"is(er|ers|ation|ations)$")
# Marks the stem of an agent noun: an optimizer is a thing, optimization a process.
AGENT = "~er"


def base_stem(stemmed: str) -> str:
    """The process behind an agent noun ("optimiz~er" -> "optimiz"): a paper about optimizers is also about
    optimization, but not the other way round."""
    return stemmed[: -len(AGENT)] if stemmed.endswith(AGENT) else stemmed


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball, kept from merging words researchers keep apart: "generalization" is not "general",
    "fairly" is not "fairness", and an agent noun is not its process ("optimizers" are not every paper that
    optimizes, an encoder is not an encoding) — while prune/pruning/pruned and quantize/quantization still meet.
    """
    lowered = word.lower()
    if len(lowered) > 6:
        lowered = _BRITISH_RE.sub(r"iz\1", lowered)  # optimiser, optimisation: the same words as with -iz-
    stemmed = str(_STEMMER.stemWord(lowered))
    if lowered.endswith(("former", "formers")):
        return stemmed + "er"  # a transformer is not a transformation
    # Snowball strips -er/-or only as a suffix ("optimizer" -> "optim"), never from "order" or "vector".
    agent = len(lowered) > 5 and bool(_AGENT_RE.search(lowered)) and not stemmed.endswith(("er", "or"))
    if _IZE_RE.search(lowered) and not stemmed.endswith("iz"):
        stemmed += "iz"
    elif lowered.endswith("ly") and len(lowered) > 4 and not stemmed.endswith("li"):
        stemmed += "~ly"
    stemmed = _STEM_EQUIVALENTS.get(stemmed, stemmed)
    if agent:
        return stemmed + AGENT
    if lowered.endswith(("ive", "ives")) and not stemmed.endswith("iv"):
        return stemmed + "~ive"  # a generative model is not every paper that generates; an objective is not an object
    return stemmed


def tokenize(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END_RE.split(text) if s.strip()]


@dataclass
class AnalyzedText:
    """Token positions by stem and by exact spelling, plus which sentence each token sits in."""

    tokens: list[str]
    stems: list[str]
    sentence_of: list[int]
    sentence_count: int
    by_stem: dict[str, list[int]] = field(default_factory=dict)
    by_exact: dict[str, list[int]] = field(default_factory=dict)
    text: str = ""
    starts: list[int] = field(default_factory=list)  # where each token starts in `text`

    def quote(self, position: int, length: int) -> str:
        """The paper's own words for tokens [position, position+length): what a "why" shows, so a reader sees
        at once what was found ("Efficient Optimization"), not what was looked for."""
        end_token = min(position + length, len(self.tokens)) - 1
        return self.text[self.starts[position]: self.starts[end_token] + len(self.tokens[end_token])]

    @classmethod
    def of(cls, text: str) -> AnalyzedText:
        # Words inside a URL are not mentions ("github.com/x/continual-learning").
        if "://" in text or "www." in text:
            text = _URL_RE.sub(lambda m: " " * len(m.group()), text)
        # One regex pass for tokens; sentence numbers come from where each token starts.
        boundaries = [m.start() for m in _SENTENCE_END_RE.finditer(text)]
        tokens: list[str] = []
        starts: list[int] = []
        sentence_of: list[int] = []
        sentence = 0
        next_boundary = boundaries[0] if boundaries else len(text) + 1
        for m in _TOKEN_RE.finditer(text):
            while m.start() >= next_boundary:
                sentence += 1
                next_boundary = boundaries[sentence] if sentence < len(boundaries) else len(text) + 1
            tokens.append(m.group())
            starts.append(m.start())
            sentence_of.append(sentence)
        stems = [stem(t) for t in tokens]
        analyzed = cls(tokens, stems, sentence_of, len(boundaries) + 1, text=text, starts=starts)
        by_stem = analyzed.by_stem
        by_exact = analyzed.by_exact
        for i, stemmed in enumerate(stems):
            if stemmed in by_stem:
                by_stem[stemmed].append(i)
            else:
                by_stem[stemmed] = [i]
            if stemmed.endswith(AGENT):
                by_stem.setdefault(base_stem(stemmed), []).append(i)
        for i, token in enumerate(tokens):
            if token in by_exact:
                by_exact[token].append(i)
            else:
                by_exact[token] = [i]
            # Acronym plurals: "LLMs", "GNNs" count as "LLM", "GNN".
            if token[-1] == "s" and len(token) >= 3 and token[0].isupper() and token[:-1].isupper():
                by_exact.setdefault(token[:-1], []).append(i)
        if "-" in text:
            # "Bi-Level" also reads as "bilevel", "pre-training" as "pretraining": index the joined form too.
            firsts: dict[str, str] = {}
            for chunk in text.split():
                if "-" in chunk and (compound := COMPOUND_RE.search(chunk)):
                    firsts[compound.group(0).split("-")[0]] = compound.group(0).replace("-", "")
            # (the same joins as joined_compounds(), here kept with the position of their first part)
            for i, token in enumerate(tokens):
                joined = firsts.get(token)
                if joined is not None:
                    by_stem.setdefault(stem(joined), []).append(i)
        return analyzed


@dataclass
class AnalyzedPaper:
    title: AnalyzedText
    abstract: AnalyzedText
    sentences: list[str]
    # Acronyms the paper defines for itself: short form -> stems of its long form ("CIL" -> "class increment learn").
    defined: dict[str, str]
    # What other layers derive from this analysis (the learner's term counts), kept with it: the matcher keeps
    # analyses, so each is derived once per paper rather than once per use.
    derived: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, title: str, abstract: str) -> AnalyzedPaper:
        defined: dict[str, str] = {}
        for d in find_definitions(abstract):
            short = d.short[:-1] if d.short.endswith("s") and d.short[:-1].isupper() else d.short
            defined.setdefault(short, " ".join(stem(w) for w in tokenize(d.long)))
        return cls(AnalyzedText.of(title), AnalyzedText.of(abstract), split_sentences(abstract), defined)
