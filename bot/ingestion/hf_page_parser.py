"""Parse the Hugging Face papers page saved as text, in its two real layouts.

Both layouts carry one abstract per line, which is what makes them parseable at all: a title line, then an
abstract line, then (rich layout only) an optional metadata block. We are strict about the shape, because a
text file that merely looks similar (a README, a log) must be rejected rather than turned into junk papers.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import date

from bot.errors import ParseError
from bot.ingestion.listing_reader import split_lines
from bot.papers import ParsedPaper

SOURCE = "hf-page"

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_DATE_RE = re.compile(
    r"^(?P<mon>[A-Z][a-z]{2})[a-z]*\.?\s+(?P<day>\d{1,2})(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<upvotes>\d+))?$"
)
_AUTHORS_RE = re.compile(r"^[•·*\-]\s*(?P<count>\d+)\s+authors?$")
_BYLINE_RE = re.compile(r"^by\s*AK\b.*research community$", re.IGNORECASE)
_HEADER_PREFIXES = ("get trending papers",)
_MAX_TITLE = 600
_MIN_ABSTRACT = 40
_HEAD_LINES = 40  # the layouts are told from this many first lines


def looks_like_compact(lines: list[str]) -> bool:
    head = [ln for ln in lines[:6] if ln]
    return (
        len(head) >= 3
        and all(ln.lower().startswith(_HEADER_PREFIXES) for ln in head[:2])
        and head[2].startswith("Subscribe")
        and len(head[2]) > len("Subscribe")
    )


def looks_like_rich(lines: list[str]) -> bool:
    head = [ln for ln in lines[:40] if ln]
    return "Daily Papers" in head and any(_BYLINE_RE.match(ln) for ln in head)


def parse_hf_page(text: str, *, today: date, where: str = "page") -> list[ParsedPaper]:
    return list(iter_hf_page(split_lines(text), today=today, where=where))


def iter_hf_page(lines: Iterable[str], *, today: date, where: str = "page") -> Iterator[ParsedPaper]:
    """The page's papers as its lines arrive: only the first 40 lines are held to tell the layout."""
    stream = iter(lines)
    head = [ln.strip() for ln in itertools.islice(stream, _HEAD_LINES)]
    numbered = _Lines(enumerate(itertools.chain(head, (ln.strip() for ln in stream)), start=1))
    if looks_like_compact(head):
        papers = _parse_compact(numbered, where)
    elif looks_like_rich(head):
        papers = _parse_rich(numbered, today, where)
    else:
        raise ParseError("not a Hugging Face papers page", where=where)
    empty = True
    for paper in papers:
        empty = False
        yield paper
    if empty:
        raise ParseError("the page lists no papers", where=where)


class _Lines:
    """The page's non-blank lines with their numbers, with a look at the next few before taking them."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self._lines = ((n, text) for n, text in lines if text)
        self._ahead: deque[tuple[int, str]] = deque()

    def peek(self, k: int = 0) -> tuple[int, str] | None:
        while len(self._ahead) <= k:
            nxt = next(self._lines, None)
            if nxt is None:
                return None
            self._ahead.append(nxt)
        return self._ahead[k]

    def take(self, n: int = 1) -> None:
        for _ in range(n):
            if self.peek() is not None:
                self._ahead.popleft()

    def __iter__(self) -> Iterator[tuple[int, str]]:
        """The lines not taken yet, taking them."""
        while self._ahead:
            yield self._ahead.popleft()
        yield from self._lines


def _check_entry(title: tuple[int, str], abstract: tuple[int, str] | None, where: str) -> None:
    lineno, text = title
    if abstract is None:
        raise ParseError(f"title {text[:60]!r} has no abstract (truncated file?)", where=f"{where}:{lineno}")
    if len(text) > _MAX_TITLE:
        raise ParseError("expected a paper title, found a long paragraph", where=f"{where}:{lineno}")
    if _DATE_RE.match(text) or _AUTHORS_RE.match(text) or text == "·":
        raise ParseError(f"expected a paper title, found {text[:40]!r}", where=f"{where}:{lineno}")
    ab_line, ab_text = abstract
    if len(ab_text) < _MIN_ABSTRACT or _DATE_RE.match(ab_text) or _AUTHORS_RE.match(ab_text):
        raise ParseError(f"expected an abstract, found {ab_text[:40]!r}", where=f"{where}:{ab_line}")


def _parse_compact(lines: _Lines, where: str) -> Iterator[ParsedPaper]:
    while (first := lines.peek()) is not None and first[1].lower().startswith(_HEADER_PREFIXES):
        lines.take()
    rest = iter(lines)
    for n, title in enumerate(rest):
        if n == 0:  # the first title is glued to the "Subscribe" button's text
            title = (title[0], title[1][len("Subscribe"):].strip())
        abstract = next(rest, None)
        _check_entry(title, abstract, where)
        assert abstract is not None
        yield ParsedPaper(title=title[1], abstract=abstract[1], source=SOURCE)


def resolve_month_day(month: int, day: int, reference: date) -> date:
    """A date shown without a year is the latest such day on or before the reference; never in the future."""
    year = reference.year
    for _ in range(8):  # Feb 29 may need to reach back a few years
        try:
            candidate = date(year, month, day)
        except ValueError:
            year -= 1
            continue
        if candidate <= reference:
            return candidate
        year -= 1
    raise ValueError(f"no valid date for month {month} day {day}")


def _parse_date(text: str, reference: date) -> tuple[date, int | None] | None:
    m = _DATE_RE.match(text)
    if not m:
        return None
    month = _MONTHS.get(m.group("mon").lower())
    if month is None:
        return None
    day = int(m.group("day"))
    upvotes = int(m.group("upvotes")) if m.group("upvotes") else None
    try:
        if m.group("year"):
            return date(int(m.group("year")), month, day), upvotes
        return resolve_month_day(month, day, reference), upvotes
    except ValueError:
        return None


def _parse_rich(lines: _Lines, today: date, where: str) -> Iterator[ParsedPaper]:
    page_date: date | None = None
    found = False
    for k in range(40):
        line = lines.peek(k)
        if line is None:
            break
        if _BYLINE_RE.match(line[1]):
            found = True
            lines.take(k + 1)
            after = lines.peek()
            if after is not None and (parsed := _parse_date(after[1], today)) is not None:
                page_date = parsed[0]
                lines.take()
            break
    if not found:
        raise ParseError("missing the 'Daily Papers' header", where=where)
    reference = page_date or today
    while (title := lines.peek()) is not None:
        abstract = lines.peek(1)
        _check_entry(title, abstract, where)
        assert abstract is not None
        lines.take(2)
        author_count: int | None = None
        organization: str | None = None
        published: date | None = None
        upvotes: int | None = None
        line, following = lines.peek(), lines.peek(1)
        if line is not None and (m := _AUTHORS_RE.match(line[1])):
            author_count = int(m.group("count"))
            lines.take()
        elif line is not None and following is not None and following[1] == "·":
            organization = line[1]
            lines.take()
        line, following = lines.peek(), lines.peek(1)
        if line is not None and line[1] == "·":
            if following is None or (parsed := _parse_date(following[1], reference)) is None:
                lineno = following[0] if following is not None else line[0]
                raise ParseError("expected a date after '·'", where=f"{where}:{lineno}")
            published, upvotes = parsed
            lines.take(2)
        yield ParsedPaper(
            title=title[1], abstract=abstract[1], source=SOURCE, author_count=author_count,
            organization=organization, published_on=published, listed_on=page_date, upvotes=upvotes,
        )
