"""Parse the Hugging Face papers page saved as text, in its two real layouts.

Both layouts carry one abstract per line, which is what makes them parseable at all: a title line, then an
abstract line, then (rich layout only) an optional metadata block. We are strict about the shape, because a
text file that merely looks similar (a README, a log) must be rejected rather than turned into junk papers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from bot.errors import ParseError
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
    lines = [ln.strip() for ln in text.splitlines()]
    if looks_like_compact(lines):
        return _parse_compact(lines, where)
    if looks_like_rich(lines):
        return _parse_rich(lines, today, where)
    raise ParseError("not a Hugging Face papers page", where=where)


def _numbered(lines: list[str], start: int = 0) -> Iterator[tuple[int, str]]:
    for i in range(start, len(lines)):
        if lines[i]:
            yield i + 1, lines[i]


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


def _parse_compact(lines: list[str], where: str) -> list[ParsedPaper]:
    body = list(_numbered(lines))
    while body and body[0][1].lower().startswith(_HEADER_PREFIXES):
        body.pop(0)
    first_no, first = body[0]
    body[0] = (first_no, first[len("Subscribe"):].strip())
    papers: list[ParsedPaper] = []
    for k in range(0, len(body), 2):
        title = body[k]
        abstract = body[k + 1] if k + 1 < len(body) else None
        _check_entry(title, abstract, where)
        assert abstract is not None
        papers.append(ParsedPaper(title=title[1], abstract=abstract[1], source=SOURCE))
    if not papers:
        raise ParseError("the page lists no papers", where=where)
    return papers


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


def _parse_rich(lines: list[str], today: date, where: str) -> list[ParsedPaper]:
    body = list(_numbered(lines))
    page_date: date | None = None
    start = None
    for k, (_lineno, text) in enumerate(body[:40]):
        if _BYLINE_RE.match(text):
            start = k + 1
            if start < len(body):
                parsed = _parse_date(body[start][1], today)
                if parsed is not None:
                    page_date = parsed[0]
                    start += 1
            break
    if start is None:
        raise ParseError("missing the 'Daily Papers' header", where=where)
    reference = page_date or today
    papers: list[ParsedPaper] = []
    i = start
    n = len(body)
    while i < n:
        title = body[i]
        abstract = body[i + 1] if i + 1 < n else None
        _check_entry(title, abstract, where)
        assert abstract is not None
        i += 2
        author_count: int | None = None
        organization: str | None = None
        published: date | None = None
        upvotes: int | None = None
        if i < n and (m := _AUTHORS_RE.match(body[i][1])):
            author_count = int(m.group("count"))
            i += 1
        elif i + 1 < n and body[i + 1][1] == "·":
            organization = body[i][1]
            i += 1
        if i < n and body[i][1] == "·":
            if i + 1 >= n or (parsed := _parse_date(body[i + 1][1], reference)) is None:
                lineno = body[i + 1][0] if i + 1 < n else body[i][0]
                raise ParseError("expected a date after '·'", where=f"{where}:{lineno}")
            published, upvotes = parsed
            i += 2
        papers.append(ParsedPaper(
            title=title[1], abstract=abstract[1], source=SOURCE, author_count=author_count,
            organization=organization, published_on=published, listed_on=page_date, upvotes=upvotes,
        ))
    if not papers:
        raise ParseError("the page lists no papers", where=where)
    return papers
