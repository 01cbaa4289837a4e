"""The machine-learning glossary: groups of terms that mean the same thing (GNN ↔ graph neural network).

Terms are compiled into token patterns once. A token written with an uppercase letter (GNN, LoRA, KV) must
match the paper's spelling exactly, so RAG never matches "rag" and SAM never matches "sam"; lowercase tokens
match any inflection through their stem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from bot.topics.text_analysis import stem, tokenize


@dataclass(frozen=True)
class TermToken:
    stem: str
    exact: str | None = None  # set for case-sensitive tokens (acronyms)
    word: str = field(default="", compare=False)  # the word as written, for the database's own stemmer


@dataclass(frozen=True)
class Term:
    """A phrase to look for: consecutive tokens, each matched by stem or exact spelling."""

    label: str
    tokens: tuple[TermToken, ...]

    @property
    def key(self) -> str:
        return " ".join(t.stem for t in self.tokens)


def make_term(text: str, *, case_sensitive_upper: bool = True) -> Term | None:
    words = tokenize(text)
    if not words:
        return None
    tokens = tuple(
        TermToken(stem(w), w if case_sensitive_upper and any(c.isupper() for c in w) else None, w.lower())
        for w in words
    )
    return Term(" ".join(text.split()), tokens)


def term_key(text: str) -> str:
    """How a typed topic is looked up: stems of its words, case and punctuation ignored."""
    return " ".join(stem(w) for w in tokenize(text))


class Glossary:
    def __init__(self, groups: list[list[Term]], narrower: dict[str, list[Term]] | None = None) -> None:
        self.groups = groups
        self._by_key: dict[str, int] = {}
        for index, group in enumerate(groups):
            for term in group:
                self._by_key.setdefault(term.key, index)
        self._narrower: dict[str, list[Term]] = {}
        for key, terms in (narrower or {}).items():
            synonyms = self.group(key) or []
            for synonym_key in {key, *(t.key for t in synonyms)}:
                self._narrower.setdefault(synonym_key, []).extend(terms)

    def narrower(self, key: str) -> list[Term]:
        """Sub-topics a subscriber to `key` also wants ("class-incremental learning" for continual learning)."""
        found = list(self._narrower.get(key, []))
        for term in list(found):
            found.extend(self.group(term.key) or [])  # a narrower term's own synonyms and acronyms
        return found

    def with_narrower(self, text: str) -> Glossary:
        narrower: dict[str, list[Term]] = {}
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or " > " not in line:
                continue
            broad, _, rest = line.partition(" > ")
            terms = [t for t in (make_term(part) for part in rest.split(" | ")) if t is not None]
            if terms:
                narrower.setdefault(term_key(broad), []).extend(terms)
        return Glossary(self.groups, narrower)

    @classmethod
    def parse(cls, text: str) -> Glossary:
        groups: list[list[Term]] = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            terms = [t for t in (make_term(part) for part in line.split(" | ")) if t is not None]
            for term in list(terms):
                if "-" in term.label and all(t.exact is None for t in term.tokens):
                    joined = make_term(term.label.replace("-", ""))
                    if joined is not None and len(joined.tokens) == 1:
                        terms.append(joined)  # "pre-training" also matches "pretraining"
            if len(terms) >= 2:
                groups.append(terms)
        return cls(groups)

    def group(self, key: str) -> list[Term] | None:
        index = self._by_key.get(key)
        if index is None and key.endswith("s") and " " not in key:
            index = self._by_key.get(key[:-1])  # "llms", "gnns"
        return self.groups[index] if index is not None else None


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    folder = resources.files("bot") / "topics"
    glossary = Glossary.parse((folder / "glossary.txt").read_text(encoding="utf-8"))
    narrower = folder / "narrower_terms.txt"
    return glossary.with_narrower(narrower.read_text(encoding="utf-8")) if narrower.is_file() else glossary
