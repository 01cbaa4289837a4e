"""Make each parsed paper storable on both databases, or say why it cannot be, before anything is written.

SQLite accepts almost anything; PostgreSQL refuses a NUL character, an integer of 2³¹ or more, a btree index
entry over ~2.7 kB and a tsvector over 1 MB, and both refuse a lone surrogate. One such item used to abort
its whole source (a whole `hf:` day). Here characters are normalised, out-of-range numbers become unknown and
oversized optional metadata is dropped; a paper whose identity or text is still unstorable is skipped with a
short reason, and the rest of its source is stored. The limits sit far above any real paper.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

from bot.errors import ParseError
from bot.papers import ParsedPaper

MAX_INT = 2**31 - 1  # INTEGER columns on PostgreSQL
MAX_ARXIV_ID = 64  # the column's width; real ids are at most 20 characters
MAX_TITLE_CHARS = 1_000  # real titles stay under 400
MAX_TITLE_KEY_BYTES = 2_000  # the title key is a btree index entry: PostgreSQL's limit is ~2,700 bytes
MAX_ABSTRACT_CHARS = 50_000  # arXiv allows 1,920; keeps the tsvector (title+abstract+authors) under 1 MB
MAX_AUTHORS = 10_000  # the largest collaborations list ~5,000
MAX_AUTHOR_CHARS = 300
MAX_AUTHORS_TOTAL_CHARS = 200_000
MAX_META_CHARS = 5_000  # organization and each extra string; longer optional metadata is dropped
MAX_META_ITEMS = 500  # entries of a list in extra (keywords, categories)

# C0/C1 controls except the whitespace that collapsing handles, and lone surrogates (refused by UTF-8 itself).
# Then the characters that are only invisible, which pages and PDFs leave in titles: a soft hyphen or a
# zero-width space inside "atten\u00adtion" split the word for topic matching and full-text search. They are the
# soft hyphen, zero-width space, word joiner and invisible operators, byte order mark, and the bidi controls
# (marks, embeddings, overrides, isolates: untrusted text must not reorder what is shown around it either).
# Characters that shape a script or an emoji (ZWJ, ZWNJ, variation selectors, the combining grapheme joiner,
# the Mongolian vowel separator) stay, although a paper's identity ignores them too (`bot.papers.INVISIBLE_RE`).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
                         "\u00ad\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# Typographic ligatures, as text copied from a PDF carries them ("ﬁne-tuning"): the letters they stand for, so the
# word stored is the word people type (full-text search reads the stored word).
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                            "\ufb05": "st", "\ufb06": "st"})


class Unstorable(Exception):
    """Why one paper is skipped ("title too long"); the source's other papers are still stored."""


class BadItem(ParseError):
    """One item of a well-formed listing that is not a paper ("item 3 has no summary", "entry 2 has no arXiv id").
    The listing around it still reads, so the ingestor skips it with a counted warning, as it does an `Unstorable`
    paper: one mangled item must not cost a whole day. Parsing without a `skip` callback raises it, as the
    `ParseError` it is."""

    def __init__(self, kind: str, index: int, problem: str, *, where: str | None = None, verb: str = "has") -> None:
        self.kind = kind  # item | entry
        self.index = index
        self.problem = problem  # "no summary", "not an object"
        super().__init__(f"{kind} {index} {verb} {problem}", where=where)


SkipItem = Callable[[BadItem], None]


def clean_text(value: str) -> str:
    """Control and invisible characters dropped, lone surrogates shown as U+FFFD, ligatures as their letters: what
    a reader sees stays the same, and every word is whole and spelt as typed."""
    if value.isascii() and value.isprintable():
        return value  # the common case, checked at C speed
    return _SURROGATE_RE.sub("\ufffd", _CONTROL_RE.sub("", value)).translate(_LIGATURES)


def one_line(value: str, limit: int = 200) -> str:
    """Text a listing or a server wrote, made fit for a one-line message on a terminal or in a log: no control
    characters (an escape sequence could recolour the terminal or plant a link), whitespace collapsed, cut."""
    return " ".join(clean_text(value).split())[:limit]


def _int_or_none(value: int | None, low: int = 0) -> int | None:
    return value if value is not None and low <= value <= MAX_INT else None


def _meta(value: Any) -> Any:
    """Optional metadata cleaned, or None when it is too big to be worth keeping."""
    if isinstance(value, str):
        cleaned = clean_text(value)
        return cleaned if len(cleaned) <= MAX_META_CHARS else None
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # NaN and Infinity are not JSON to PostgreSQL
    if isinstance(value, int):
        return _int_or_none(value, -MAX_INT)
    if isinstance(value, list):
        if len(value) > MAX_META_ITEMS:
            return None
        items = [_meta(v) for v in value]
        return [v for v in items if v is not None]
    if isinstance(value, dict):
        kept = {clean_text(str(k)): _meta(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None}
    return None


def _authors(authors: list[str] | None) -> list[str] | None:
    if authors is None:
        return None
    if len(authors) > MAX_AUTHORS:
        raise Unstorable("too many authors")
    names = [" ".join(clean_text(a).split()) for a in authors]
    if any(len(n) > MAX_AUTHOR_CHARS for n in names) or sum(map(len, names)) > MAX_AUTHORS_TOTAL_CHARS:
        raise Unstorable("author list too long")
    return [n for n in names if n]


def _unchanged(paper: ParsedPaper, title: str, abstract: str, authors: list[str] | None,
               organization: str | None, extra: Any) -> bool:
    numbers_fit = all(_int_or_none(n) == n for n in (paper.version, paper.upvotes, paper.author_count))
    return (numbers_fit and title == paper.title and abstract == paper.abstract and authors == paper.authors
            and organization == paper.organization and extra == paper.extra
            and len(paper.title_key.encode("utf-8")) <= MAX_TITLE_KEY_BYTES)


def checked_paper(paper: ParsedPaper) -> ParsedPaper:
    """A storable copy of `paper`; raises `Unstorable` with the reason when there is none."""
    title = clean_text(paper.title)
    abstract = clean_text(paper.abstract)
    if len(title) > MAX_TITLE_CHARS:
        raise Unstorable("title too long")
    if len(abstract) > MAX_ABSTRACT_CHARS:
        raise Unstorable("abstract too long")
    if paper.arxiv_id is not None and (len(paper.arxiv_id) > MAX_ARXIV_ID or not paper.arxiv_id.isascii()):
        raise Unstorable("arXiv id too long")
    authors = _authors(paper.authors)
    organization = _meta(paper.organization) if paper.organization is not None else None
    extra = _meta(paper.extra)
    if _unchanged(paper, title, abstract, authors, organization, extra):
        return paper  # nothing to normalise: skip rebuilding (and re-normalising) the record
    cleaned = dataclasses.replace(
        paper, title=title, abstract=abstract, authors=authors, organization=organization or None,
        version=_int_or_none(paper.version), upvotes=_int_or_none(paper.upvotes),
        author_count=_int_or_none(paper.author_count) if authors is None else None,
        extra=extra if isinstance(extra, dict) else {},
    )
    if not cleaned.title or not cleaned.abstract:
        raise Unstorable("no title or abstract left after removing control characters")
    if len(cleaned.title_key.encode("utf-8")) > MAX_TITLE_KEY_BYTES:
        raise Unstorable("title too long")
    return cleaned


def describe_skipped(reasons: list[str], shown: int = 5) -> str:
    """"2 skipped: title too long at item 17; NUL … at item 20", the first few reasons only."""
    listed = "; ".join(reasons[:shown])
    more = f"; and {len(reasons) - shown:,} more" if len(reasons) > shown else ""
    return f"{len(reasons):,} skipped: {listed}{more}"
