"""Stored papers to message items, with TL;DRs fetched concurrently (each paper summarised once, cached)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.messages import Action, ActionKind, PaperItem
from bot.papers import paper_url
from bot.summaries.summary_service import SummaryService, paper_text
from storage.models import Paper


def paper_ref(paper: Paper) -> str:
    return paper.arxiv_id or f"#{paper.id}"


def to_item(number: int, paper: Paper, *, tldr: str | None = None, why: str | None = None) -> PaperItem:
    ref = paper_ref(paper)
    return PaperItem(
        number=number, paper_id=paper.id, title=paper.title, url=paper_url(paper.arxiv_id),
        arxiv_id=paper.arxiv_id, tldr=tldr, upvotes=paper.upvotes, authors=tuple(paper.authors or ()),
        author_count=paper.author_count, organization=paper.organization, why=why,
        actions=(Action(ActionKind.SUMMARIZE, "Summarize", ref), Action(ActionKind.WHY, "Why", ref)),
    )


async def tldrs(summaries: SummaryService, papers: Sequence[Paper]) -> list[str]:
    """All TL;DRs at once; the service bounds concurrency and falls back offline, so this never fails."""
    results = await asyncio.gather(*(summaries.tldr(paper_text(p)) for p in papers))
    return [r.text for r in results]


async def items_with_tldrs(
    summaries: SummaryService, papers: Sequence[Paper], whys: Sequence[str | None] | None = None
) -> list[PaperItem]:
    texts = await tldrs(summaries, papers)
    reasons = list(whys) if whys is not None else [None] * len(papers)
    return [to_item(i, p, tldr=t, why=w) for i, (p, t, w) in enumerate(zip(papers, texts, reasons, strict=True),
                                                                       start=1)]
