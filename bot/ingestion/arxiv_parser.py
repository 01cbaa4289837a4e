"""Parse arXiv API Atom feeds (old and new backends) and arXiv RSS feeds.

arXiv reports query errors as an HTTP 200 feed holding one entry titled "Error"; that must become a
`ParseError`, not a paper called "Error". The old backend also claims `totalResults=1` for an empty result,
so we trust the entries, never the counters.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime
from email.utils import parsedate_to_datetime

from bot.errors import ParseError
from bot.papers import ParsedPaper, parse_arxiv_ref

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
API_SOURCE = "arxiv-api"
RSS_SOURCE = "arxiv-rss"

_RSS_ABSTRACT_RE = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*Abstract:\s*", re.IGNORECASE)


def parse_xml_root(text: str, where: str) -> ET.Element:
    try:
        return ET.fromstring(text.encode("utf-8") if isinstance(text, str) else text)
    except ET.ParseError as exc:
        raise ParseError(f"invalid XML ({exc})", where=where) from exc


def _child_text(el: ET.Element, tag: str) -> str:
    child = el.find(tag)
    return (child.text or "") if child is not None else ""


def _date(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError):
        return None


def parse_arxiv_atom(root: ET.Element, where: str = "feed") -> list[ParsedPaper]:
    if root.tag != f"{ATOM}feed":
        raise ParseError("not an Atom feed", where=where)
    papers = []
    for index, entry in enumerate(root.findall(f"{ATOM}entry")):
        title = _child_text(entry, f"{ATOM}title")
        summary = _child_text(entry, f"{ATOM}summary")
        raw_id = _child_text(entry, f"{ATOM}id").strip()
        if title.strip() == "Error":
            raise ParseError(f"arXiv reported an error: {' '.join(summary.split())[:200]}", where=where)
        ref = parse_arxiv_ref(raw_id)
        if not title.strip() or not summary.strip():
            raise ParseError(f"entry {index} has no title or summary", where=where)
        if ref is None:
            raise ParseError(f"entry {index} has no arXiv id ({raw_id[:80]!r})", where=where)
        authors = [
            " ".join(_child_text(a, f"{ATOM}name").split())
            for a in entry.findall(f"{ATOM}author")
            if _child_text(a, f"{ATOM}name").strip()
        ]
        categories = [c.get("term", "") for c in entry.findall(f"{ATOM}category") if c.get("term")]
        extra: dict[str, object] = {"categories": categories} if categories else {}
        comment = _child_text(entry, f"{ARXIV}comment").strip()
        if comment:
            extra["comment"] = " ".join(comment.split())
        papers.append(ParsedPaper(
            title=title, abstract=summary, source=API_SOURCE, arxiv_id=ref.arxiv_id, version=ref.version,
            authors=authors, published_on=_date(_child_text(entry, f"{ATOM}published")), extra=extra,
        ))
    return papers


def parse_arxiv_rss(root: ET.Element, where: str = "rss") -> list[ParsedPaper]:
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise ParseError("not an RSS feed", where=where)
    papers = []
    for index, item in enumerate(channel.findall("item")):
        title = _child_text(item, "title")
        description = _child_text(item, "description")
        guid = _child_text(item, "guid")
        link = _child_text(item, "link")
        ref = parse_arxiv_ref(guid.replace("oai:arXiv.org:", "")) or parse_arxiv_ref(link)
        if m := re.match(r"^\s*arXiv:(\S+)", description):
            ref = parse_arxiv_ref(m.group(1)) or ref
        abstract = _RSS_ABSTRACT_RE.sub("", description, count=1)
        if not title.strip() or not abstract.strip():
            raise ParseError(f"item {index} has no title or abstract", where=where)
        creators = _child_text(item, f"{DC}creator")
        authors = [" ".join(a.split()) for a in creators.split(",") if a.strip()] if creators.strip() else None
        categories = [c.text.strip() for c in item.findall("category") if c.text and c.text.strip()]
        extra: dict[str, object] = {"categories": categories} if categories else {}
        announce = _child_text(item, f"{ARXIV}announce_type").strip()
        if announce:
            extra["announce_type"] = announce
        papers.append(ParsedPaper(
            title=title, abstract=abstract, source=RSS_SOURCE,
            arxiv_id=ref.arxiv_id if ref else None, version=ref.version if ref else None,
            authors=authors, listed_on=_date(_child_text(item, "pubDate")), extra=extra,
        ))
    return papers
