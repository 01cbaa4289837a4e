"""Parse arXiv API Atom feeds (old and new backends) and arXiv's daily feeds, as RSS or as Atom.

arXiv reports query errors as an HTTP 200 feed holding one entry titled "Error"; that must become a
`ParseError`, not a paper called "Error". The old backend also claims `totalResults=1` for an empty result,
so we trust the entries, never the counters.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import cast

from bot.errors import ParseError
from bot.ingestion.paper_checks import BadItem, SkipItem, one_line
from bot.papers import ParsedPaper, parse_arxiv_ref

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
API_SOURCE = "arxiv-api"
RSS_SOURCE = "arxiv-rss"

_MAX_DEPTH = 200  # real feeds nest 4 deep
_MAX_ENTRY_ELEMENTS = 100_000  # the largest collaborations list ~5,000 authors, two elements each
_RSS_ABSTRACT_RE = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*(?P<type>\S+)\s*Abstract:\s*", re.IGNORECASE)


class ArxivReportedError(ParseError):
    """arXiv's own error feed: a bad query or id ("incorrect id format for 1234.12345")."""

    def __init__(self, reason: str, *, where: str | None = None) -> None:
        self.reason = reason
        super().__init__(f"arXiv reported an error: {reason}", where=where)


def reported_error(data: bytes) -> str | None:
    """The reason arXiv gives when `data` is its error feed (the API sends it with HTTP 200 or 400), else None."""
    try:
        for _ in iter_arxiv_feed([data]):
            pass
    except ArxivReportedError as exc:
        return exc.reason
    except ParseError:
        return None
    return None


def iter_arxiv_feed(blocks: Iterable[bytes] | Iterable[str], where: str = "feed", *,
                    skip: SkipItem | None = None) -> Iterator[ParsedPaper]:
    """The papers of an Atom or RSS feed as its bytes (or text, already decoded: then whatever encoding the XML
    declares does not matter) arrive. Each element is let go once read, so memory holds one entry, not the feed.
    The parser is `ET.fromstring`'s (expat): external entities are never loaded and entity expansion is capped.
    An entry that is not a paper (no title, no arXiv id) goes to `skip` when given, else it raises `BadItem`;
    XML that does not parse and arXiv's "Error" entry always raise."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    path: list[ET.Element] = []  # the open elements, root first
    kind = ""
    channel: ET.Element | None = None  # RSS: the first <channel>, whose items are the papers
    entry_depth = 0  # where the open entry (item) is in `path`; 0: none open
    elements = 0  # inside the open entry
    index = 0
    for block in itertools.chain[bytes | str](blocks, [b""]):
        try:
            if block:
                parser.feed(block)
            else:
                parser.close()
            events = cast(list[tuple[str, ET.Element]], list(parser.read_events()))
        except ET.ParseError as exc:
            raise ParseError(f"invalid XML ({exc})", where=where) from exc
        for event, elem in events:
            if event == "start":
                if not path:
                    kind = _feed_kind(elem.tag, where)
                elif kind == "rss" and len(path) == 1 and elem.tag == "channel" and channel is None:
                    channel = elem
                elif not entry_depth and _is_entry(kind, elem, path, channel):
                    entry_depth, elements = len(path), 0
                path.append(elem)
                if len(path) > _MAX_DEPTH:
                    raise ParseError(f"invalid XML (nested more than {_MAX_DEPTH} deep)", where=where)
                if entry_depth:
                    elements += 1
                    if elements > _MAX_ENTRY_ELEMENTS:
                        raise ParseError(f"{'entry' if kind == 'atom' else 'item'} {index} has more than "
                                         f"{_MAX_ENTRY_ELEMENTS:,} elements", where=where)
                continue
            path.pop()
            if entry_depth and len(path) == entry_depth:
                entry_depth = 0
                try:
                    paper = _atom_entry(elem, index, where) if kind == "atom" else _rss_item(elem, index, where)
                except BadItem as bad:
                    if skip is None:
                        raise
                    skip(bad)
                else:
                    yield paper
                index += 1
            if path and not entry_depth and elem is not channel:
                path[-1].remove(elem)  # read (or of no use): let it go
    if kind == "rss" and channel is None:
        raise ParseError("not an RSS feed", where=where)


def _is_entry(kind: str, elem: ET.Element, path: list[ET.Element], channel: ET.Element | None) -> bool:
    if kind == "atom":
        return len(path) == 1 and elem.tag == f"{ATOM}entry"
    return len(path) == 2 and path[1] is channel and elem.tag == "item"


def _feed_kind(tag: str, where: str) -> str:
    if tag == f"{ATOM}feed":
        return "atom"
    if tag == "rss":
        return "rss"
    raise ParseError(f"unsupported XML document <{tag.split('}')[-1]}>", where=where)


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


def _atom_entry(entry: ET.Element, index: int, where: str) -> ParsedPaper:
    title = _child_text(entry, f"{ATOM}title")
    summary = _child_text(entry, f"{ATOM}summary")
    raw_id = _child_text(entry, f"{ATOM}id").strip()
    if title.strip() == "Error":
        raise ArxivReportedError(one_line(summary), where=where)
    ref = parse_arxiv_ref(raw_id)
    # arXiv's RSS service also serves its daily feeds as Atom (rss.arxiv.org/atom/CAT): an entry's id is its OAI
    # identifier, its summary starts like an RSS item's description, and <published> is the announcement day.
    head = _RSS_ABSTRACT_RE.match(summary)
    abstract = summary[head.end():] if head else summary
    if not title.strip() or not abstract.strip():
        raise BadItem("entry", index, "no title or summary", where=where)
    if ref is None:
        raise BadItem("entry", index, f"no arXiv id ({raw_id[:80]!r})", where=where)
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
    published = _child_text(entry, f"{ATOM}published")
    if head is None:
        return ParsedPaper(
            title=title, abstract=summary, source=API_SOURCE, arxiv_id=ref.arxiv_id, version=ref.version,
            authors=authors, published_on=_date(published), extra=extra,
        )
    announce = _child_text(entry, f"{ARXIV}announce_type").strip() or head.group("type")
    extra["announce_type"] = announce
    return ParsedPaper(
        title=title, abstract=abstract, source=RSS_SOURCE, arxiv_id=ref.arxiv_id, version=ref.version,
        authors=authors or _creators(entry), listed_on=_listing_day(announce, published), extra=extra,
    )


# What may follow a name after a comma of its own ("Martin Luther King, Jr.", "Henry Ford, III"): never a name.
_NAME_SUFFIX_RE = re.compile(r"^(?:jr|sr|jnr|snr|ii|iii|iv|v|vi|vii|viii|ix|x)\.?$", re.IGNORECASE)


def _creators(el: ET.Element) -> list[str] | None:
    """The feed's one comma-separated author list (dc:creator); None when it has none. A generational suffix
    with a comma of its own stays with the name before it."""
    creators = _child_text(el, f"{DC}creator")
    names: list[str] = []
    for part in creators.split(","):
        name = " ".join(part.split())
        if names and _NAME_SUFFIX_RE.match(name):
            names[-1] = f"{names[-1]}, {name}"
        elif name:
            names.append(name)
    return names or None


def _listing_day(announce: str, value: str) -> date | None:
    """A feed's announcement date is the paper's listing day only when it is announced as new (or as a
    cross-list of a new paper): a replacement is an old paper's new version, not a paper of that day."""
    return None if announce.lower().startswith("replace") else _date(value)


def _rss_item(item: ET.Element, index: int, where: str) -> ParsedPaper:
    title = _child_text(item, "title")
    description = _child_text(item, "description")
    guid = _child_text(item, "guid")
    link = _child_text(item, "link")
    ref = parse_arxiv_ref(guid) or parse_arxiv_ref(link)
    if m := re.match(r"^\s*arXiv:(\S+)", description):
        ref = parse_arxiv_ref(m.group(1)) or ref
    head = _RSS_ABSTRACT_RE.match(description)
    abstract = description[head.end():] if head else description
    if not title.strip() or not abstract.strip():
        raise BadItem("item", index, "no title or abstract", where=where)
    if ref is None:  # every arXiv item names its paper; a blog's or a journal's posts are no papers
        raise BadItem("item", index, f"no arXiv id ({(guid or link).strip()[:80]!r})", where=where)
    authors = _creators(item)
    categories = [c.text.strip() for c in item.findall("category") if c.text and c.text.strip()]
    extra: dict[str, object] = {"categories": categories} if categories else {}
    announce = _child_text(item, f"{ARXIV}announce_type").strip() or (head.group("type") if head else "")
    if announce:
        extra["announce_type"] = announce
    return ParsedPaper(
        title=title, abstract=abstract, source=RSS_SOURCE, arxiv_id=ref.arxiv_id, version=ref.version,
        authors=authors, listed_on=_listing_day(announce, _child_text(item, "pubDate")), extra=extra,
    )
