"""A thread's follow-up reply, as a neutral `Message`: one block per paper, one line per event.

All text is plain: titles and comment lines come from the internet, so they were cleaned when the event was
stored and every renderer escapes them again. The links are each paper's arXiv page, built from its id, and a code
host's, rebuilt from its parts; each is a `Link`, shown as a link only when its kind's rule (`link_url`) accepts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.messages import Link, Message, code_host_url, unlinked

HEADER = "Follow-up: news about papers in this digest"
MAX_TITLE_CHARS = 200


@dataclass(frozen=True)
class PaperNews:
    """One paper of the thread and its events, in detection order."""

    number: int | None  # its place in the digest ("summarize 2" keeps working)
    title: str
    arxiv_id: str | None
    events: Sequence[tuple[str, dict[str, Any]]]  # (kind, detail)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def event_line(kind: str, detail: dict[str, Any]) -> str:
    """One event in words a reader scans: "New version v2 (was v1): title changed; …"."""
    return unlinked(event_parts(kind, detail))


def event_parts(kind: str, detail: dict[str, Any]) -> list[str | Link]:
    """`event_line` with the released code as a `Link` when it is one a chat may show as a link (a plain https
    URL on a known code host: `code_host_url`); any other stored URL stays text."""
    if kind == "code":
        url = code_host_url(detail.get("url"))
        return ["Code released: ", Link(url)] if url else [f"Code released: {detail.get('url')}"]
    return [_event_text(kind, detail)]


def _event_text(kind: str, detail: dict[str, Any]) -> str:
    if kind == "version":
        was = f" (was v{detail['from']})" if detail.get("from") else ""
        changes = []
        if detail.get("title"):
            changes.append(f"new title “{_short(str(detail['title']), MAX_TITLE_CHARS)}”")
        if detail.get("abstract_chars"):
            old, new = detail["abstract_chars"]
            changes.append(f"abstract {old:,} → {new:,} characters")
        if detail.get("comment"):
            changes.append(f"comment: “{detail['comment']}”")
        if detail.get("pages"):
            old, new = detail["pages"]
            changes.append(f"{old} → {new} pages" if old else f"{new} pages")
        return f"New version v{detail.get('version')}{was}" + (": " + "; ".join(changes) if changes else "")
    if kind == "rising":
        line = f"Rising: ▲{detail.get('from', 0)} → ▲{detail.get('to', 0)} upvotes"
        if detail.get("rank"):
            line += f", now #{detail['rank']} of its day"
        return line
    return kind


def render_followup(news: Sequence[PaperNews]) -> Message:
    parts: list[str | Link] = []
    for paper in news:
        head = f"{paper.number}. " if paper.number else ""
        # The title readers know from the digest, also when a new version renamed the paper.
        title = next((str(d["title_was"]) for kind, d in paper.events if kind == "version" and d.get("title_was")),
                     paper.title)
        line = f"{head}{_short(title, MAX_TITLE_CHARS)}"
        parts.append(f"\n\n{line}" if parts else line)
        link = Link.paper(paper.arxiv_id)
        if link is not None:
            parts += [" — ", link]
        for kind, detail in paper.events:
            parts += ["\n   • ", *event_parts(kind, detail)]
            if detail.get("pending"):
                parts.append(" (not in its thread yet)")
    return Message(header=HEADER, body=unlinked(parts), linked_body=tuple(parts))
