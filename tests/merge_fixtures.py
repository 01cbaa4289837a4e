"""Rows that name a paper record, planted for two records that are one paper, and what must hold once one was
merged into the other: shared by the store's runtime merge (tests/test_paper_store.py) and migration 0017's
(tests/test_schema_upgrade.py), which must both lose nothing people stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.feedback_models import PaperJudgement
from storage.followup_models import FollowupBaseline, FollowupClaim, FollowupEvent, FollowupSent
from storage.summary_models import LlmCall, StoredSummary

Events = dict[tuple[int, str], int]  # (paper, event key) -> the event's id


async def plant_references(s: AsyncSession, keep: int, gone: int, *, baseline_title: str) -> Events:
    """Both records' summaries (one the same), an LLM call, votes (U1 changed their mind on the other record,
    later), the other's follow-up baseline, follow-up events (one of each kind twice) and the threads told of
    them. Returns the events' ids."""
    t0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
    summary = {"kind": "tldr", "model": "m", "prompt_version": "1", "question_hash": "", "text": "s"}
    vote = {"scope": "channel:a", "topic_key": "attent", "topic": "attention"}
    s.add_all([
        StoredSummary(paper_id=keep, text_hash="same", **summary),
        StoredSummary(paper_id=gone, text_hash="same", **summary),  # the same summary twice: one stays
        StoredSummary(paper_id=gone, text_hash="page-text", **summary),
        LlmCall(paper_id=gone, kind="tldr", model="m", outcome="ok", day=date(2026, 11, 1)),
        PaperJudgement(**vote, paper_id=keep, user_id="U1", relevant=True, judged_at=t0),
        PaperJudgement(**vote, paper_id=gone, user_id="U1", relevant=False, judged_at=t0 + timedelta(hours=1)),
        PaperJudgement(**vote, paper_id=gone, user_id="U2", relevant=True, judged_at=t0),
        FollowupBaseline(paper_id=gone, version=None, title=baseline_title, abstract_chars=10, upvotes=12),
    ])
    await s.flush()
    events: Events = {}
    for paper, key in ((keep, "code"), (gone, "code"), (gone, "rising")):
        event = FollowupEvent(paper_id=paper, kind=key, key=key, detail={}, day=date(2026, 11, 2))
        s.add(event)
        await s.flush()
        events[paper, key] = event.id
    s.add_all([
        FollowupSent(destination_key="console:local:main", thread_key="t1", event_id=events[gone, "code"]),
        FollowupSent(destination_key="console:local:main", thread_key="t2", event_id=events[gone, "code"]),
        FollowupSent(destination_key="console:local:main", thread_key="t2", event_id=events[keep, "code"]),
        FollowupClaim(claim_key="console:local:main|t1", day=date(2026, 11, 2), status="posted",
                      event_ids=[events[gone, "code"], events[gone, "rising"]]),
    ])
    return events


async def assert_references_moved(s: AsyncSession, keep: int, gone: int, events: Events) -> None:
    """Everything `plant_references` put on `gone` names `keep`; where `keep` had the same, one stayed."""
    assert sorted((x.paper_id, x.text_hash) for x in (await s.execute(select(StoredSummary))).scalars()) == [
        (keep, "page-text"), (keep, "same")]
    assert [c.paper_id for c in (await s.execute(select(LlmCall))).scalars()] == [keep]
    votes = {(v.paper_id, v.user_id, v.relevant) for v in (await s.execute(select(PaperJudgement))).scalars()}
    assert votes == {(keep, "U1", False), (keep, "U2", True)}  # U1 changed their mind later
    assert await s.scalar(select(func.count(PaperJudgement.id))) == 2
    assert [b.paper_id for b in (await s.execute(select(FollowupBaseline))).scalars()] == [keep]
    found = {(e.paper_id, e.key): e.id for e in (await s.execute(select(FollowupEvent))).scalars()}
    assert found == {(keep, "code"): events[keep, "code"], (keep, "rising"): events[gone, "rising"]}
    assert sorted((x.thread_key, x.event_id) for x in (await s.execute(select(FollowupSent))).scalars()) == [
        ("t1", events[keep, "code"]), ("t2", events[keep, "code"])]
    assert (await s.execute(select(FollowupClaim.event_ids))).scalar_one() == [
        events[keep, "code"], events[gone, "rising"]]
