"""Stored papers to message items, with TL;DRs fetched concurrently (each paper summarised once, cached)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from bot.messages import Action, ActionKind, PaperItem
from bot.papers import paper_url
from bot.summaries.summary_service import SummaryService, paper_text
from storage.delivery_store import short_error
from storage.models import Paper

log = logging.getLogger(__name__)

RELEVANT_LABEL = "👍 Relevant"
NOT_RELEVANT_LABEL = "👎 Not for us"
NOT_FOR_ME_LABEL = "👎 Not for me"  # on a person's own list: the verdict is theirs, not the channel's


def paper_ref(paper: Paper) -> str:
    return paper.arxiv_id or f"#{paper.id}"


def to_item(number: int, paper: Paper, *, tldr: str | None = None, why: str | None = None) -> PaperItem:
    ref = paper_ref(paper)
    return PaperItem(
        number=number, paper_id=paper.id, title=paper.title, url=paper_url(paper.arxiv_id),
        arxiv_id=paper.arxiv_id, tldr=tldr, upvotes=paper.upvotes, authors=tuple(paper.authors or ()),
        author_count=paper.author_count, organization=paper.organization, why=why,
        actions=(Action(ActionKind.SUMMARIZE, "Summarize", ref), Action(ActionKind.WHY, "Why", ref),
                 Action(ActionKind.RELEVANT, RELEVANT_LABEL, ref),
                 Action(ActionKind.NOT_RELEVANT, NOT_RELEVANT_LABEL, ref)),
    )


async def tldrs(summaries: SummaryService, papers: Sequence[Paper], *, deadline: float | None = None) -> list[str]:
    """All TL;DRs at once; the service bounds concurrency and falls back offline, so this never fails.

    With a `deadline` (seconds), whatever the LLM has not delivered by then is replaced by the offline TL;DR,
    so a slow LLM never makes a digest late; the LLM calls carry on and fill the cache for next time.
    """
    tasks = [asyncio.ensure_future(summaries.tldr(paper_text(p))) for p in papers]
    if not tasks:
        return []
    if deadline is not None:
        await asyncio.wait(tasks, timeout=deadline)
    else:
        await asyncio.wait(tasks)
    texts = []
    for paper, task in zip(papers, tasks, strict=True):
        if task.done() and not task.cancelled() and task.exception() is None:
            texts.append(task.result().text)
        else:
            texts.append(summaries.offline_tldr(paper_text(paper)).text)
            if not task.done():
                task.add_done_callback(_late_failure)
    return texts


def _late_failure(task: asyncio.Task[Any]) -> None:
    """A TL;DR the list stopped waiting for that then failed (a locked database, say): one line in the log. Left
    alone, asyncio would print its whole traceback as "Task exception was never retrieved" for each such paper."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("a TL;DR finished after its list's deadline, and failed: %s", short_error(error))


async def items_with_tldrs(
    summaries: SummaryService, papers: Sequence[Paper], whys: Sequence[str | None] | None = None,
    *, deadline: float | None = None, first: int = 1,
) -> list[PaperItem]:
    """The papers as numbered items with their TL;DRs, numbered from `first` (a later page goes on counting)."""
    texts = await tldrs(summaries, papers, deadline=deadline)
    reasons = list(whys) if whys is not None else [None] * len(papers)
    return [to_item(i, p, tldr=t, why=w) for i, (p, t, w) in enumerate(zip(papers, texts, reasons, strict=True),
                                                                       start=first)]
