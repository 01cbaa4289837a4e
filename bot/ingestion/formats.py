"""Recognise what a listing is from its bytes alone, so users never have to say which format a file is in."""

from __future__ import annotations

from datetime import date

from bot.errors import ParseError
from bot.ingestion.arxiv_parser import ATOM, parse_arxiv_atom, parse_arxiv_rss, parse_xml_root
from bot.ingestion.hf_json_parser import parse_hf_json
from bot.ingestion.hf_page_parser import parse_hf_page
from bot.papers import ParsedPaper

# Real listings are at most a few MB (an arXiv API page of 2,000 results is ~5 MB). A listing is parsed whole,
# at up to ~8 bytes of memory per byte of file (bench/big_file_bench.py), so this cap is what keeps an ingest
# under 300 MB; a 195 MB file used to peak at 953 MB.
MAX_LISTING_BYTES = 20 * 1_000_000


def decode_listing(data: bytes, where: str) -> str:
    if not data.strip():
        raise ParseError("the file is empty", where=where)
    if len(data) > MAX_LISTING_BYTES:
        raise ParseError(f"too large ({len(data) // 1_000_000} MB; limit {MAX_LISTING_BYTES // 1_000_000} MB)",
                         where=where)
    if b"\x00" in data[:65536]:
        raise ParseError("binary data, not a paper listing", where=where)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text (bad byte at offset {exc.start})", where=where) from exc
    return text


def detect_format(text: str) -> str:
    """One of hf-json, arxiv-atom, arxiv-rss, hf-page, html, unknown."""
    head = text.lstrip()[:2000]
    lowered = head.lower()
    if head[:1] in "[{":
        return "hf-json"
    if lowered.startswith(("<!doctype html", "<html")) or "<html" in lowered[:500]:
        return "html"
    if lowered.startswith("<?xml") or lowered.startswith(("<feed", "<rss")):
        if "<rss" in lowered:
            return "arxiv-rss"
        return "arxiv-atom"
    return "hf-page"


def parse_listing(data: bytes, *, where: str, today: date, listed_on: date | None = None) -> list[ParsedPaper]:
    """Parse any supported listing; every failure is a `ParseError` naming `where`."""
    text = decode_listing(data, where)
    kind = detect_format(text)
    if kind == "hf-json":
        return parse_hf_json(text, where=where, listed_on=listed_on)
    if kind == "html":
        raise ParseError("an HTML page; save the papers page as text, or use hf:DATE to fetch it", where=where)
    if kind in ("arxiv-atom", "arxiv-rss"):
        root = parse_xml_root(text, where)
        if root.tag == f"{ATOM}feed":
            return parse_arxiv_atom(root, where)
        if root.tag == "rss":
            return parse_arxiv_rss(root, where)
        raise ParseError(f"unsupported XML document <{root.tag.split('}')[-1]}>", where=where)
    try:
        return parse_hf_page(text, today=today, where=where)
    except ParseError as exc:
        if str(exc).endswith("not a Hugging Face papers page"):
            raise ParseError("not a paper listing (expected an HF papers page, HF JSON, or arXiv Atom/RSS)",
                             where=where) from exc
        raise
