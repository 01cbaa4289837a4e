"""A thread's follow-up reply, as a neutral `Message`: one block per paper, one line per event.

All text is plain: titles and comment lines come from the internet, so they were cleaned when the event was
stored and every renderer escapes them again; the only link is a code host's, rebuilt from its parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.messages import Message
from bot.papers import paper_url

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
    if kind == "code":
        return f"Code released: {detail.get('url')}"
    if kind == "rising":
        line = f"Rising: ▲{detail.get('from', 0)} → ▲{detail.get('to', 0)} upvotes"
        if detail.get("rank"):
            line += f", now #{detail['rank']} of its day"
        return line
    return kind


def render_followup(news: Sequence[PaperNews]) -> Message:
    blocks = []
    for paper in news:
        head = f"{paper.number}. " if paper.number else ""
        # The title readers know from the digest, also when a new version renamed the paper.
        title = next((str(d["title_was"]) for kind, d in paper.events if kind == "version" and d.get("title_was")),
                     paper.title)
        url = paper_url(paper.arxiv_id)
        lines = [f"{head}{_short(title, MAX_TITLE_CHARS)}" + (f" — {url}" if url else "")]
        lines += [f"   • {event_line(kind, detail)}" + (" (not in its thread yet)" if detail.get("pending") else "")
                  for kind, detail in paper.events]
        blocks.append("\n".join(lines))
    return Message(header=HEADER, body="\n\n".join(blocks))
