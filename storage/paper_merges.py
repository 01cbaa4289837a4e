"""Merging a record into another when they turn out to be one paper, losing nothing that names either.

The store merges at runtime when a sighting proves two records one paper (a page's title-only record and the
record with the arXiv id, seen under the page's title). Every row naming the merged-away record then names the
kept one: summaries, LLM calls, judgements, follow-up baselines and events, the paper lists of posted messages and
deliveries (in place, so "summarize 3" in an old thread still means the third paper), and its title keys. Where
the kept record already has the same thing, one stays: the same summary, a person's later verdict, the older
baseline, one follow-up event per kind (threads told of the other are marked told of this one).

Migration 0017 keeps its own frozen copy of these rules: a migration must do what it did when it was written,
while this module follows the tables as they are now.

Concurrency (PostgreSQL, several bot processes): `lock_records` takes the merged-away rows FOR UPDATE before
anything moves. A row another transaction inserts for such a record (a summary, a vote: foreign keys) either
committed before the lock, and is then moved, or waits for it and then fails on the deleted paper: nothing that
names the record is left behind or silently cascaded away. No other ingest reads or updates the merged-away
record meanwhile, nor gives it an arXiv id of its own: the merging chunk holds the advisory lock of the title key
that found it (`storage.paper_store`), and every ingest that could find it takes that lock before reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, cast, delete, insert, or_, select, text, update
from sqlalchemy import Text as TextType
from sqlalchemy.ext.asyncio import AsyncSession

from storage.delivery_models import Delivery
from storage.destination_models import PostedMessage
from storage.followup_models import FollowupClaim, FollowupEvent
from storage.models import Paper, PaperMerge

_PAGE = 1_000  # rows of a list-holding table read at a time
_LIKE_TERMS = 50  # ids looked for in one statement
_SUMMARY_KEY = ("kind", "model", "prompt_version", "question_hash", "text_hash")


async def lock_records(session: AsyncSession, ids: Iterable[int], columns: Sequence[Any]) -> dict[int, dict[str, Any]]:
    """The records' current values, their rows locked until the transaction ends (PostgreSQL; SQLite has one
    writer at a time anyway). A record another process merged away meanwhile is missing from the answer."""
    wanted = sorted(set(ids))
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), _PAGE):
        stmt = (select(Paper.id, *columns).where(Paper.id.in_(wanted[start:start + _PAGE]))
                .order_by(Paper.id).with_for_update())
        found.update({row["id"]: dict(row) for row in (await session.execute(stmt)).mappings()})
    return found


async def merge_records(session: AsyncSession, moved: Mapping[int, int]) -> None:
    """Merge each record `gone` of `moved` (gone -> kept) into its kept record and delete it. The caller has
    locked the gone records (`lock_records`) and written what the kept records learned from them."""
    if not moved:
        return
    for gone, keep in moved.items():
        await _move_references(session, keep, gone)
    await _rewrite_lists(session, ((_table(PostedMessage.__table__), "paper_ids"),
                                   (_table(Delivery.__table__), "paper_ids")), moved)
    merges = _table(PaperMerge.__table__)
    await session.execute(update(merges).where(merges.c.paper_id == bindparam("gone"))
                          .values(paper_id=bindparam("keep")),
                          [{"gone": gone, "keep": keep} for gone, keep in moved.items()])
    await session.execute(insert(merges), [{"merged_id": gone, "paper_id": keep} for gone, keep in moved.items()])
    papers = _table(Paper.__table__)
    await session.execute(delete(papers).where(papers.c.id.in_(list(moved))))


async def merged_into(session: AsyncSession, paper_id: int) -> int | None:
    """The record a merged-away record's number now names, if it was merged."""
    stmt = select(PaperMerge.paper_id).where(PaperMerge.merged_id == paper_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _run(session: AsyncSession, statement: str, **params: Any) -> None:
    await session.execute(text(statement), params)


async def _move_references(session: AsyncSession, keep: int, gone: int) -> None:
    same_summary = " AND ".join(f"k.{c} = summaries.{c}" for c in _SUMMARY_KEY)
    await _run(session, "DELETE FROM summaries WHERE paper_id = :gone AND EXISTS (SELECT 1 FROM summaries k "
                        f"WHERE k.paper_id = :keep AND {same_summary})", keep=keep, gone=gone)
    await _run(session, "UPDATE summaries SET paper_id = :keep WHERE paper_id = :gone", keep=keep, gone=gone)
    await _run(session, "UPDATE llm_calls SET paper_id = :keep WHERE paper_id = :gone", keep=keep, gone=gone)
    # A person's verdict on the paper for a topic: the later one stands (a second click replaces the first).
    same_vote = ("o.scope = paper_judgements.scope AND o.topic_key = paper_judgements.topic_key "
                 "AND o.user_id = paper_judgements.user_id")
    await _run(session, "DELETE FROM paper_judgements WHERE paper_id = :gone AND EXISTS (SELECT 1 FROM "
                        f"paper_judgements o WHERE o.paper_id = :keep AND {same_vote} "
                        "AND o.judged_at >= paper_judgements.judged_at)", keep=keep, gone=gone)
    await _run(session, "DELETE FROM paper_judgements WHERE paper_id = :keep AND EXISTS (SELECT 1 FROM "
                        f"paper_judgements o WHERE o.paper_id = :gone AND {same_vote} "
                        "AND o.judged_at > paper_judgements.judged_at)", keep=keep, gone=gone)
    await _run(session, "UPDATE paper_judgements SET paper_id = :keep WHERE paper_id = :gone", keep=keep, gone=gone)
    # The baseline is the paper as readers first saw it: the older one stays.
    await _run(session, "DELETE FROM followup_baselines WHERE paper_id = :gone AND EXISTS (SELECT 1 FROM "
                        "followup_baselines o WHERE o.paper_id = :keep AND o.created_at <= "
                        "followup_baselines.created_at)", keep=keep, gone=gone)
    await _run(session, "DELETE FROM followup_baselines WHERE paper_id = :keep AND EXISTS (SELECT 1 FROM "
                        "followup_baselines o WHERE o.paper_id = :gone)", keep=keep, gone=gone)
    await _run(session, "UPDATE followup_baselines SET paper_id = :keep WHERE paper_id = :gone", keep=keep, gone=gone)
    # Title keys: the kept record is found by every title either was seen under, the other's current one too
    # (an alias of the kept record, unless it is its own current key; see `storage.models.PaperTitleKey`).
    await _run(session, "INSERT INTO paper_title_keys (title_key, paper_id) SELECT g.title_key, k.id "
                        "FROM papers g JOIN papers k ON k.id = :keep WHERE g.id = :gone AND g.title_key <> k.title_key "
                        "AND NOT EXISTS (SELECT 1 FROM paper_title_keys a WHERE a.paper_id = k.id "
                        "AND a.title_key = g.title_key)", keep=keep, gone=gone)
    await _run(session, "UPDATE paper_title_keys SET paper_id = :keep WHERE paper_id = :gone AND title_key NOT IN "
                        "(SELECT a.title_key FROM paper_title_keys a WHERE a.paper_id = :keep) AND title_key <> "
                        "(SELECT k.title_key FROM papers k WHERE k.id = :keep)", keep=keep, gone=gone)
    await _move_events(session, keep, gone)


async def _move_events(session: AsyncSession, keep: int, gone: int) -> None:
    """One follow-up event per paper and kind: the other's threads are marked told of the one kept."""
    table = _table(FollowupEvent.__table__)
    events = table.c
    kept = {key: pk for pk, key in (await session.execute(
        select(events.id, events.key).where(events.paper_id == keep))).all()}
    twins = {pk: kept[key] for pk, key in (await session.execute(
        select(events.id, events.key).where(events.paper_id == gone))).all() if key in kept}
    for old, new in twins.items():
        await _run(session, "DELETE FROM followup_sent WHERE event_id = :old AND EXISTS (SELECT 1 FROM "
                            "followup_sent o WHERE o.event_id = :new AND o.destination_key = "
                            "followup_sent.destination_key AND o.thread_key = followup_sent.thread_key)",
                   old=old, new=new)
        await _run(session, "UPDATE followup_sent SET event_id = :new WHERE event_id = :old", old=old, new=new)
    if twins:
        await _rewrite_lists(session, ((_table(FollowupClaim.__table__), "event_ids"),), twins)
        await session.execute(delete(table).where(events.id.in_(list(twins))))
    await session.execute(update(table).where(events.paper_id == gone).values(paper_id=keep))


def _table(table: Any) -> Table:
    """A model's Core table (what executemany with a WHERE of its own needs, rather than the ORM's bulk modes)."""
    assert isinstance(table, Table)
    return table


async def _rewrite_lists(session: AsyncSession, lists: Iterable[tuple[Table, str]], moved: Mapping[int, int]) -> None:
    """Replace moved ids inside JSON lists, each in its place. Only rows whose text holds one of the ids are read
    (a LIKE in the database; the exact test is made here): a merge must not read every digest ever posted."""
    ids = sorted(moved)
    for table, column in lists:
        pk, values = table.c.id, table.c[column]
        for start in range(0, len(ids), _LIKE_TERMS):
            terms = [cast(values, TextType).like(f"%{i}%") for i in ids[start:start + _LIKE_TERMS]]
            last = 0
            while True:
                stmt = select(pk, values).where(pk > last, or_(*terms)).order_by(pk).limit(_PAGE)
                page = (await session.execute(stmt)).all()
                if not page:
                    break
                last = page[-1][0]
                changed = [{"pk": row_id, "ids": [moved.get(i, i) for i in items]} for row_id, items in page
                           if items and any(i in moved for i in items)]
                if changed:
                    await session.execute(update(table).where(pk == bindparam("pk"))
                                          .values({column: bindparam("ids")}), changed)
