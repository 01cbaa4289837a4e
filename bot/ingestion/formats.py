"""Recognise what a listing is from its first bytes, so users never have to say which format a file is in, and
parse it as a stream: memory holds a block of the file and the papers not yet stored, whatever its size."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import BinaryIO

from bot.errors import ParseError
from bot.ingestion.arxiv_parser import iter_arxiv_feed
from bot.ingestion.hf_json_parser import iter_hf_json
from bot.ingestion.hf_page_parser import iter_hf_page
from bot.ingestion.listing_reader import ListingReader, lines_of
from bot.ingestion.paper_checks import SkipItem
from bot.papers import ParsedPaper

# Real listings are at most a few MB (an arXiv API page of 2,000 results is ~5 MB). Listings are parsed as a
# stream, so memory does not grow with the size (bench/big_file_bench.py: under 300 MB at this limit); the limit
# bounds how long one source holds the database's write lock.
MAX_LISTING_BYTES = 250 * 1_000_000


def detect_format(text: str) -> str:
    """One of hf-json, arxiv-atom, arxiv-rss, hf-page, html."""
    head = text.lstrip()[:2000]
    lowered = head.lower()
    if head[:1] in "[{":
        return "hf-json"
    if head[:1] != "<":  # a saved page's text, whatever its papers say ("generating <html> from screenshots")
        return "hf-page"
    if lowered.startswith(("<!doctype html", "<html")) or "<html" in lowered[:500]:
        return "html"
    # Markup that is not HTML is XML, whatever comes first (a declaration, a comment, a DOCTYPE).
    return "arxiv-rss" if "<rss" in lowered else "arxiv-atom"


def iter_listing(handle: BinaryIO, *, where: str, today: date, listed_on: date | None = None,
                 limit: int = MAX_LISTING_BYTES, skip: SkipItem | None = None,
                 fetched: bool = False) -> Iterator[ParsedPaper]:
    """The papers of any supported listing, read from a seekable handle as they are parsed; every failure is a
    `ParseError` naming `where` (raised when the parse reaches it: the caller undoes what it stored). With
    `skip`, one JSON item or feed entry that is not a paper goes there instead and the rest is read. A saved HF
    page has no such items: its papers are pairs of lines, and one line too many or too few shifts every paper
    after it, so any fault there fails the page. `fetched`: the listing is a server's answer, not a user's file."""
    reader = ListingReader(handle, where, limit)
    kind = detect_format(reader.head())
    if kind == "hf-json":
        yield from iter_hf_json(reader.text(), where=where, listed_on=listed_on, skip=skip)
    elif kind == "html" and fetched:  # a proxy's or a maintenance page, answered in place of the API
        raise ParseError("the server sent an HTML page, not a listing", where=where)
    elif kind == "html":
        raise ParseError("an HTML page; save the papers page as text, or use hf:DATE to fetch it", where=where)
    elif kind in ("arxiv-atom", "arxiv-rss"):
        yield from iter_arxiv_feed(reader.xml(), where, skip=skip)
    else:
        try:
            yield from iter_hf_page(lines_of(reader.text(), where), today=today, where=where)
        except ParseError as exc:
            if str(exc).endswith("not a Hugging Face papers page"):
                raise ParseError("not a paper listing (expected an HF papers page, HF JSON, or arXiv Atom/RSS)",
                                 where=where) from exc
            raise


def parse_listing(data: bytes, *, where: str, today: date, listed_on: date | None = None) -> list[ParsedPaper]:
    """Every paper of a listing held in memory."""
    return list(iter_listing(io.BytesIO(data), where=where, today=today, listed_on=listed_on))
