"""papers: title keys without invisible characters, and the records that then name one paper merged into one

A title copied from a web page often carries a soft hyphen, a zero-width space or a byte order mark; they stayed
in its title key, so the same paper from a source without them became a second record and was listed twice.
`bot.papers.normalize_title` now drops them; this migration gives every stored paper the key the store computes
today and merges the records that then name one paper, as the store itself would have merged their sightings:
title-only records with one key become one (the oldest stays), and they join the one record with an arXiv id
under that key (when two papers with ids share the title, which one is meant cannot be known: they are left).

Merging loses nothing users stored: every row that names a merged-away paper is moved to the one kept
(summaries, LLM calls, judgements, follow-up baselines and events, and the paper lists of posted messages and
deliveries, in place, so "summarize 3" in an old thread still means the third paper). Where the kept paper
already has the same thing, one stays: the same summary, a person's later verdict, the older baseline, and one
follow-up event per kind (threads told of the other are marked told of this one). The kept record gains what
the other knew as a re-ingest would (earliest dates, most upvotes, every source, authors and metadata it lacked);
its text is its own.

The tables are written out here as they are at this revision, so that later changes to the models cannot change
what this migration does. Downgrading keeps the new keys and the merged records: the older code finds papers by
them just as well, and merged records cannot be told apart again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_PAPERS = sa.table(
    "papers", sa.column("id", sa.Integer), sa.column("arxiv_id", sa.String), sa.column("title", sa.Text),
    sa.column("title_key", sa.Text), sa.column("authors", sa.JSON), sa.column("author_count", sa.Integer),
    sa.column("organization", sa.Text), sa.column("published_on", sa.Date), sa.column("listed_on", sa.Date),
    sa.column("upvotes", sa.Integer), sa.column("sources", sa.JSON), sa.column("extra", sa.JSON),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_EVENTS = sa.table("followup_events", sa.column("id", sa.Integer), sa.column("paper_id", sa.Integer),
                   sa.column("key", sa.String))
# Lists of ids in JSON: (table, column) -> the merged ids they may hold are papers' or follow-up events'.
_PAPER_LISTS = (("posted_messages", "paper_ids"), ("deliveries", "paper_ids"))
_EVENT_LISTS = (("followup_claims", "event_ids"),)
_SUMMARY_KEY = ("kind", "model", "prompt_version", "question_hash", "text_hash")
_PAGE = 2_000


def upgrade() -> None:
    from bot.papers import normalize_title  # the store's own rule: stored keys must be exactly what it computes

    conn = op.get_bind()
    rows = conn.execute(sa.select(_PAPERS.c.id, _PAPERS.c.arxiv_id, _PAPERS.c.title, _PAPERS.c.title_key)).all()
    keys = {pk: normalize_title(title) for pk, _arxiv_id, title, _key in rows}
    rekeyed = [pk for pk, _arxiv_id, _title, key in rows if keys[pk] != key]
    if not rekeyed:
        return
    merges = _merges(rows, keys, set(rekeyed))
    for keep, gone in merges.items():
        _merge_fields(conn, keep, gone)
        for old in gone:
            _move_references(conn, keep, old)
    moved = {old: keep for keep, gone in merges.items() for old in gone}
    if moved:
        _rewrite_lists(conn, _PAPER_LISTS, moved)
        conn.execute(sa.delete(_PAPERS).where(_PAPERS.c.id.in_(list(moved))))
    remaining = [{"pk": pk, "key": keys[pk]} for pk in rekeyed if pk not in moved]
    if remaining:
        conn.execute(sa.update(_PAPERS).where(_PAPERS.c.id == sa.bindparam("pk"))
                     .values(title_key=sa.bindparam("key")), remaining)


def downgrade() -> None:
    pass  # see the docstring: the new keys serve the older code too, and merged records stay merged


def _merges(rows: Sequence[Any], keys: dict[int, str], rekeyed: set[int]) -> dict[int, list[int]]:
    """Kept record -> the records merged into it, for every key a re-keyed record now has."""
    with_id: dict[str, list[int]] = defaultdict(list)
    title_only: dict[str, list[int]] = defaultdict(list)
    for pk, arxiv_id, _title, _key in sorted(rows):
        (with_id if arxiv_id else title_only)[keys[pk]].append(pk)
    merges: dict[int, list[int]] = {}
    for key in sorted({keys[pk] for pk in rekeyed}):
        records = title_only.get(key, [])
        owners = with_id.get(key, [])
        if len(owners) == 1 and records:
            merges[owners[0]] = records
        elif len(records) > 1:
            merges[records[0]] = records[1:]
    return merges


def _min(a: Any, b: Any) -> Any:
    return min(a, b) if a is not None and b is not None else (a if a is not None else b)


def _max(a: Any, b: Any) -> Any:
    return max(a, b) if a is not None and b is not None else (a if a is not None else b)


def _merge_fields(conn: Connection, keep: int, gone: list[int]) -> None:
    columns = [_PAPERS.c.id, _PAPERS.c.authors, _PAPERS.c.author_count, _PAPERS.c.organization,
               _PAPERS.c.published_on, _PAPERS.c.listed_on, _PAPERS.c.upvotes, _PAPERS.c.sources, _PAPERS.c.extra]
    found = {r["id"]: dict(r) for r in conn.execute(sa.select(*columns).where(
        _PAPERS.c.id.in_([keep, *gone]))).mappings()}
    merged = found[keep]
    for other in (found[pk] for pk in gone):
        if not merged["authors"] and other["authors"]:
            merged["authors"] = other["authors"]
        if not merged["author_count"]:
            merged["author_count"] = other["author_count"]
        merged["organization"] = merged["organization"] or other["organization"]
        for field in ("published_on", "listed_on"):
            merged[field] = _min(merged[field], other[field])
        merged["upvotes"] = _max(merged["upvotes"], other["upvotes"])
        merged["sources"] = sorted(set(merged["sources"] or []) | set(other["sources"] or []))
        merged["extra"] = {**(other["extra"] or {}), **(merged["extra"] or {})}
    if merged["authors"]:
        merged["author_count"] = len(merged["authors"])
    values = {k: v for k, v in merged.items() if k != "id"}
    conn.execute(sa.update(_PAPERS).where(_PAPERS.c.id == keep).values(**values, updated_at=datetime.now(UTC)))


def _run(conn: Connection, statement: str, **params: Any) -> None:
    conn.execute(sa.text(statement), params)


def _move_references(conn: Connection, keep: int, gone: int) -> None:
    """Every row naming paper `gone` names `keep` instead; where `keep` has the same thing, one of the two stays."""
    same_summary = " AND ".join(f"k.{c} = summaries.{c}" for c in _SUMMARY_KEY)
    _run(conn, "DELETE FROM summaries WHERE paper_id = :gone AND EXISTS (SELECT 1 FROM summaries k "
               f"WHERE k.paper_id = :keep AND {same_summary})", keep=keep, gone=gone)
    _run(conn, "UPDATE summaries SET paper_id = :keep WHERE paper_id = :gone", keep=keep, gone=gone)
    _run(conn, "UPDATE llm_calls SET paper_id = :keep WHERE paper_id = :gone", keep=keep, gone=gone)
    # A person's verdict on the paper for a topic: the later one stands (a second click replaces the first).
    same_vote = ("o.scope = paper_judgements.scope AND o.topic_key = paper_judgements.topic_key "
                 "AND o.user_id = paper_judgements.user_id")
    _run(conn, "DELETE FROM paper_judgements WHERE paper_id = :gone AND EXISTS (SELECT 1 FROM paper_judgements o "
               f"WHERE o.paper_id = :keep AND {same_vote} AND o.judged_at >= paper_judgements.judged_at)",
         keep=keep, gone=gone)
    _run(conn, "DELETE FROM paper_judgements WHERE paper_id = :keep AND EXISTS (SELECT 1 FROM paper_judgements o "
               f"WHERE o.paper_id = :gone AND {same_vote} AND o.judged_at > paper_judgements.judged_at)",
         keep=keep, gone=gone)
    _run(conn, "UPDATE paper_judgements SET paper_id = :keep WHERE paper_id = :gone", keep=keep, gone=gone)
    # The baseline is the paper as readers first saw it: the older one stays.
    _run(conn, "DELETE FROM followup_baselines WHERE paper_id = :gone AND EXISTS (SELECT 1 FROM followup_baselines o "
               "WHERE o.paper_id = :keep AND o.created_at <= followup_baselines.created_at)", keep=keep, gone=gone)
    _run(conn, "DELETE FROM followup_baselines WHERE paper_id = :keep AND EXISTS (SELECT 1 FROM followup_baselines o "
               "WHERE o.paper_id = :gone)", keep=keep, gone=gone)
    _run(conn, "UPDATE followup_baselines SET paper_id = :keep WHERE paper_id = :gone", keep=keep, gone=gone)
    _move_events(conn, keep, gone)


def _move_events(conn: Connection, keep: int, gone: int) -> None:
    """One follow-up event per paper and kind: the other's threads are marked told of the one kept."""
    kept = {key: pk for pk, key in conn.execute(sa.select(_EVENTS.c.id, _EVENTS.c.key)
                                                .where(_EVENTS.c.paper_id == keep)).all()}
    twins = {pk: kept[key] for pk, key in conn.execute(sa.select(_EVENTS.c.id, _EVENTS.c.key)
                                                       .where(_EVENTS.c.paper_id == gone)).all() if key in kept}
    for old, new in twins.items():
        _run(conn, "DELETE FROM followup_sent WHERE event_id = :old AND EXISTS (SELECT 1 FROM followup_sent o "
                   "WHERE o.event_id = :new AND o.destination_key = followup_sent.destination_key "
                   "AND o.thread_key = followup_sent.thread_key)", old=old, new=new)
        _run(conn, "UPDATE followup_sent SET event_id = :new WHERE event_id = :old", old=old, new=new)
    if twins:
        _rewrite_lists(conn, _EVENT_LISTS, twins)
        conn.execute(sa.delete(_EVENTS).where(_EVENTS.c.id.in_(list(twins))))
    conn.execute(sa.update(_EVENTS).where(_EVENTS.c.paper_id == gone).values(paper_id=keep))


def _rewrite_lists(conn: Connection, lists: tuple[tuple[str, str], ...], moved: dict[int, int]) -> None:
    """Replace merged ids inside JSON lists, each in its place, a page of rows at a time."""
    for name, column in lists:
        table = sa.table(name, sa.column("id", sa.Integer), sa.column(column, sa.JSON))
        ids, values = table.c.id, table.c[column]
        last = 0
        while True:
            page = conn.execute(sa.select(ids, values).where(ids > last).order_by(ids).limit(_PAGE)).all()
            if not page:
                break
            last = page[-1][0]
            changed = [{"pk": pk, "ids": [moved.get(i, i) for i in items]} for pk, items in page
                       if items and any(i in moved for i in items)]
            if changed:
                conn.execute(sa.update(table).where(ids == sa.bindparam("pk")).values({column: sa.bindparam("ids")}),
                             changed)
