"""The vocabulary shared by summarizers, the cleaner and the service: kinds of output, their limits, results.

The limits live here rather than in each summarizer because they are promises to readers (a digest line fits
on one screen line or two), and the cleaner enforces them whatever produced the text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from bot.papers import collapse, paper_url


class SummaryKind(StrEnum):
    TLDR = "tldr"
    SUMMARY = "summary"
    ANSWER = "answer"


WORD_LIMITS: dict[SummaryKind, int] = {SummaryKind.TLDR: 35, SummaryKind.SUMMARY: 120, SummaryKind.ANSWER: 80}
MIN_BULLETS = 3
MAX_BULLETS = 4
BULLET = "•"
NOT_IN_ABSTRACT = "The abstract does not say."
MAX_QUESTION_CHARS = 500


@dataclass(frozen=True)
class PaperText:
    """What a summarizer may see of a paper. Title and abstract come from the internet: untrusted text."""

    paper_id: int
    title: str
    abstract: str
    arxiv_id: str | None = None

    @property
    def url(self) -> str | None:
        return paper_url(self.arxiv_id)

    def fingerprint(self) -> str:
        """Changes when a new arXiv version rewrites the text, so a revised paper is summarised afresh."""
        return hashlib.sha256(f"{self.title}\n{self.abstract}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SummaryRequest:
    paper: PaperText
    kind: SummaryKind
    question: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is SummaryKind.ANSWER) != bool(self.question and self.question.strip()):
            raise ValueError("a question goes with kind=answer, and only with it")


def question_key(question: str | None) -> str:
    """Same question, same cache entry, however it was capitalised, spaced or punctuated at the end."""
    if not question:
        return ""
    normal = collapse(question).casefold().rstrip(" ?!.")
    return hashlib.sha256(normal.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Draft:
    """A summarizer's raw text (not yet cleaned) and what producing it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 1


@dataclass(frozen=True)
class Summary:
    """What users get: cleaned text and who produced it, so a reader can tell an LLM line from an offline one."""

    paper_id: int
    kind: SummaryKind
    text: str
    model: str | None  # None: the offline extractive summarizer
    cached: bool = False
    fallback_reason: str | None = None

    @property
    def producer(self) -> str:
        if self.model is not None:
            return self.model
        return f"offline summary ({self.fallback_reason})" if self.fallback_reason else "offline summary"
