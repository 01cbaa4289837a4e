"""Parse Hugging Face Daily Papers API JSON (`/api/daily_papers`) and bare paper objects.

The API's field set changed between 2024 and 2026, so only a paper's id (its arXiv id), title and summary are
required; everything else is read when present and ignored when not. Ids stay strings: `2401.10100` as a float
would lose its trailing zero and become a different paper.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from bot.errors import ParseError
from bot.ingestion.json_items import JsonText
from bot.ingestion.paper_checks import BadItem, SkipItem, one_line
from bot.papers import ParsedPaper, parse_arxiv_ref

SOURCE = "hf-api"


def _iso_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None


def _text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _authors(paper: dict[str, Any]) -> list[str] | None:
    raw = paper.get("authors")
    if not isinstance(raw, list):
        return None
    names = []
    for author in raw:
        if isinstance(author, dict) and isinstance(author.get("name"), str) and author["name"].strip():
            names.append(" ".join(author["name"].split()))
        elif isinstance(author, str) and author.strip():
            names.append(" ".join(author.split()))
    return names


def _organization(*objs: dict[str, Any]) -> str | None:
    for obj in objs:
        org = obj.get("organization")
        if isinstance(org, dict):
            name = _text(org, "fullname") or _text(org, "name")
            if name:
                return name
        elif isinstance(org, str) and org.strip():
            return org.strip()
    return None


def _paper_from_item(item: Any, index: int, where: str) -> ParsedPaper:
    if not isinstance(item, dict):
        raise BadItem("item", index, "not an object", where=where, verb="is")
    nested = item.get("paper")
    paper: dict[str, Any] = nested if isinstance(nested, dict) else item
    raw_id = paper.get("id")
    if isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    title = _text(paper, "title") or _text(item, "title")
    summary = _text(paper, "summary") or _text(item, "summary")
    missing = [name for name, value in (("id", raw_id), ("title", title), ("summary", summary)) if not value]
    if missing:
        raise BadItem("item", index, f"no {', '.join(missing)}", where=where)
    assert isinstance(raw_id, str) and title and summary
    ref = parse_arxiv_ref(raw_id)
    if ref is None:
        # Daily Papers takes only arXiv papers, and every recorded item's id is its arXiv id: anything else is no
        # paper of the listing (stored by its title, no later sighting could ever give it its id).
        raise BadItem("item", index, f"no arXiv id ({one_line(raw_id, 80)!r})", where=where)
    upvotes = paper.get("upvotes", item.get("upvotes"))
    extra: dict[str, object] = {"hf_id": raw_id}
    for key, out in (("ai_summary", "ai_summary"), ("githubRepo", "github_repo"), ("projectPage", "project_page")):
        value = _text(paper, key) or _text(item, key)
        if value:
            extra[out] = value
    keywords = paper.get("ai_keywords")
    if isinstance(keywords, list):
        extra["keywords"] = [k for k in keywords if isinstance(k, str)]
    listed = _iso_date(paper.get("submittedOnDailyAt")) or (
        _iso_date(item.get("publishedAt")) if item is not paper else None
    )
    return ParsedPaper(
        title=title,
        abstract=summary,
        source=SOURCE,
        arxiv_id=ref.arxiv_id,
        version=ref.version,
        authors=_authors(paper),
        organization=_organization(item, paper),
        published_on=_iso_date(paper.get("publishedAt")),
        listed_on=listed,
        upvotes=upvotes if isinstance(upvotes, int) and not isinstance(upvotes, bool) else None,
        extra=extra,
    )


def parse_hf_json(text: str, *, where: str = "json", listed_on: date | None = None) -> list[ParsedPaper]:
    return list(iter_hf_json([text], where=where, listed_on=listed_on))


def iter_hf_json(blocks: Iterable[str], *, where: str = "json", listed_on: date | None = None,
                 skip: SkipItem | None = None) -> Iterator[ParsedPaper]:
    """The papers of a JSON listing as its text arrives: a list is read an item at a time, anything else
    (a bare paper object, an API error) whole. An item that is not a paper goes to `skip` when given (the
    listing goes on), else it raises `BadItem`; JSON that does not parse always raises."""
    document = JsonText(blocks, where)
    items: Iterable[Any] = document.items() if document.is_array() else _items_of(document.whole(), where)
    for index, item in enumerate(items):
        try:
            paper = _paper_from_item(item, index, where)
        except BadItem as bad:
            if skip is None:
                raise
            skip(bad)
            continue
        if listed_on is not None:  # the day we asked for is the listing day, whatever the submission time says
            paper.listed_on = listed_on
        yield paper


def _items_of(text: str, where: str) -> list[Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", where=where) from exc
    except RecursionError:
        raise ParseError("invalid JSON (nested too deeply)", where=where) from None
    except ValueError:  # Python refuses integers of more than 4,300 digits
        raise ParseError("invalid JSON (a number of more than 4,300 digits)", where=where) from None
    if isinstance(data, dict):
        if isinstance(data.get("papers"), list):
            data = data["papers"]
        elif "paper" in data or "id" in data:
            data = [data]
        elif "error" in data:
            raise ParseError(f"the API returned an error: {one_line(str(data['error']))}", where=where)
    if not isinstance(data, list):
        raise ParseError("expected a list of papers", where=where)
    return data
