"""Words, stems and sentences of a paper's text, indexed once so that many topics can be checked cheaply.

Matching 1,000 subscriptions against a day's papers means hundreds of thousands of (topic, paper) checks;
each check must be a few dictionary lookups, so all tokenising and stemming happens here, once per paper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

from bot.topics.acronyms import find_definitions

_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
_COMPOUND_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)+", re.UNICODE)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")
_STEMMER = snowballstemmer.stemmer("english")

# Stems that stemming alone does not join but researchers use interchangeably ("graph neural nets").
_STEM_EQUIVALENTS = {"net": "network"}

STOPWORDS = frozenset("""
a an and are as at be by for from has have in into is it its of on or that the their this to was were which
with we our via using use based towards toward new novel approach approaches method methods
""".split())


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    stemmed = str(_STEMMER.stemWord(word.lower()))
    return _STEM_EQUIVALENTS.get(stemmed, stemmed)


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

    @classmethod
    def of(cls, text: str) -> AnalyzedText:
        tokens: list[str] = []
        sentence_of: list[int] = []
        sentences = split_sentences(text)
        for index, sentence in enumerate(sentences):
            words = tokenize(sentence)
            tokens.extend(words)
            sentence_of.extend([index] * len(words))
        stems = [stem(t) for t in tokens]
        analyzed = cls(tokens, stems, sentence_of, max(len(sentences), 1))
        # "Bi-Level" also reads as "bilevel", "pre-training" as "pretraining": index the joined form too.
        compounds = {m.group(0).split("-")[0]: m.group(0).replace("-", "") for m in _COMPOUND_RE.finditer(text)}
        for i, (token, stemmed) in enumerate(zip(tokens, stems, strict=True)):
            joined = compounds.get(token)
            if joined is not None:
                analyzed.by_stem.setdefault(stem(joined), []).append(i)
            analyzed.by_stem.setdefault(stemmed, []).append(i)
            analyzed.by_exact.setdefault(token, []).append(i)
            # Acronym plurals: "LLMs", "GNNs" count as "LLM", "GNN".
            if len(token) >= 3 and token[-1] == "s" and token[:-1].isupper():
                analyzed.by_exact.setdefault(token[:-1], []).append(i)
        return analyzed


@dataclass
class AnalyzedPaper:
    title: AnalyzedText
    abstract: AnalyzedText
    sentences: list[str]
    # Acronyms the paper defines for itself: short form -> stems of its long form ("CIL" -> "class increment learn").
    defined: dict[str, str]

    @classmethod
    def of(cls, title: str, abstract: str) -> AnalyzedPaper:
        defined: dict[str, str] = {}
        for d in find_definitions(abstract):
            short = d.short[:-1] if d.short.endswith("s") and d.short[:-1].isupper() else d.short
            defined.setdefault(short, " ".join(stem(w) for w in tokenize(d.long)))
        return cls(AnalyzedText.of(title), AnalyzedText.of(abstract), split_sentences(abstract), defined)
