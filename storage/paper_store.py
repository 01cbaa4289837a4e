"""Storing sightings of papers as one record per paper, and reading papers back.

Merging is deliberately order-independent where it can be (earliest dates, highest upvotes and versions, the
union of sources), so re-ingesting the same listings in any order leaves the store exactly as it was.

A record is found by every title key it was seen under: its current one (`papers.title_key`) and the ones it had
before (`paper_title_keys`, written only when they differ): a paper retitled in a new arXiv version is still the
paper HF's page lists under the first title, in whichever order the sources come. When a title was seen on
title-only records and on exactly one paper with an id, they are that paper and become one record
(`storage.paper_merges`); with two papers with an id under the title, which one they are cannot be known.

Between processes (PostgreSQL), each chunk first takes a transaction-scoped advisory lock on every title key and
arXiv id its sightings carry, in one statement, before it reads anything: two ingests naming one paper by the same
title or id take turns, and the second reads what the first committed. A record is only ever found, created, made
known under a title or merged away under a key its chunk locked, so a title-only record is never created beside
the paper with the id known under its title (nothing unique would stop it: see `storage.models.PaperTitleKey`), a
record is never updated while another process merges it away, and a merge never takes a record that another
process has just given an arXiv id of its own. The records a chunk reads are locked too (FOR NO KEY UPDATE, as
its UPDATE would): one found by its id here and by its title there is written by one process at a time, each
starting from what the other committed. The unique indexes stay the last word (a retried transaction finds the
other's record); SQLite lets one transaction write at a time and needs no lock. A source with more identities
than `IDENTITY_LOCK_BUDGET` takes one lock excluding every other ingest instead. Records that still got apart
(written by versions before these locks) are merged by the next sighting of their title, from any source.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.compounds import joined_compounds
from bot.papers import ParsedPaper, normalize_title, paper_url, parse_arxiv_ref
from storage.database import dialect_name
from storage.models import Paper, PaperMerge, PaperTitleKey
from storage.paper_merges import lock_records, merge_records, merged_into

_CHUNK = 500  # rows per statement: well inside every database's parameter limits
WRITE_CHUNK = 2_000  # papers merged and written at a time
# SQLite's page cache while writing (negative: KiB): the papers table, its indexes and the full-text segments
# being merged stay in memory; the default 2 MB doubled the time of inserting.
_SQLITE_WRITE_CACHE = -64 * 1024
MAX_ROW_ID = 2**31 - 1  # ids are 32-bit INTEGER columns on PostgreSQL; larger numbers name no paper
PAPERS = cast(Table, Paper.__table__)
# PostgreSQL advisory locks of the two-key form (the one-key form, the migration lock in `storage.database`, is a
# space of its own): first key _IDENTITY_LOCKS for the identities (title keys, arXiv ids) an ingest is writing,
# _INGEST_LOCK for all ingests (shared by those that lock identities, exclusive for one that locks too many).
_IDENTITY_LOCKS = 0x5041_5052
_INGEST_LOCK = _IDENTITY_LOCKS + 1
# Identity locks one ingest may hold: every advisory lock takes a slot of the server's shared lock table (by default
# 64 per connection, 6,400 in all), and one for each of a 100,000-paper import's identities would run out of them.
IDENTITY_LOCK_BUDGET = 1_000
# The shared lock first (a target list is evaluated left to right), then the identities in the array's order.
_LOCK_IDENTITIES = text(
    "SELECT pg_advisory_xact_lock_shared(:all, 0), "
    "(SELECT count(pg_advisory_xact_lock(:space, k)) FROM unnest(CAST(:keys AS integer[])) AS k)"
)
_LOCK_ALL_INGESTS = text("SELECT pg_advisory_xact_lock(:all, 0)")
_FIELDS = ("arxiv_id", "version", "title", "title_key", "abstract", "authors", "author_count", "organization",
           "published_on", "listed_on", "upvotes", "sources", "extra", "compounds")


@dataclass
class IngestCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    paper_ids: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why each unstorable paper was left out

    def add(self, other: IngestCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.paper_ids.extend(other.paper_ids)
        self.skipped.extend(other.skipped)

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged


def _min_date(a: date | None, b: date | None) -> date | None:
    return min(a, b) if a and b else (a or b)


def _max_int(a: int | None, b: int | None) -> int | None:
    return max(a, b) if a is not None and b is not None else (a if a is not None else b)


def _incoming_text_wins(existing_version: int | None, incoming_version: int | None) -> bool:
    """A newer arXiv version replaces the text; an unversioned sighting never overrides a known one."""
    if incoming_version is None:
        return False
    return existing_version is None or incoming_version > existing_version


def merge_values(row: dict[str, Any], paper: ParsedPaper, compounds: str | None = None) -> dict[str, Any]:
    """The stored fields after seeing `paper` again; equal to `row` when nothing new was learned. `compounds`:
    the paper's, when already known."""
    merged = dict(row)
    if merged.get("arxiv_id") is None and paper.arxiv_id:
        merged["arxiv_id"] = paper.arxiv_id
    text_wins = _incoming_text_wins(row.get("version"), paper.version)
    if text_wins:
        merged["title"] = paper.title
        merged["title_key"] = paper.title_key
        merged["abstract"] = paper.abstract
        merged["compounds"] = _compounds(paper) if compounds is None else compounds
    merged["version"] = _max_int(row.get("version"), paper.version)
    if paper.authors and (text_wins or not row.get("authors")):
        merged["authors"] = list(paper.authors)
    if merged.get("authors"):
        merged["author_count"] = len(merged["authors"])
    elif paper.author_count is not None and not row.get("author_count"):  # 0: an empty list stored before
        merged["author_count"] = paper.author_count
    merged["organization"] = row.get("organization") or paper.organization
    merged["published_on"] = _min_date(row.get("published_on"), paper.published_on)
    merged["listed_on"] = _min_date(row.get("listed_on"), paper.listed_on)
    merged["upvotes"] = _max_int(row.get("upvotes"), paper.upvotes)
    merged["sources"] = sorted(set(row.get("sources") or []) | {paper.source})
    extra = dict(row.get("extra") or {})
    if text_wins or paper.version is None:
        extra.update(paper.extra)
    else:
        # A sighting of a version already known (or older) adds what is missing, as its text does: two feeds
        # saying "new" and "cross" for one v1, or a v1 seen after v2, must not flip a value on every re-ingest.
        extra.update({k: v for k, v in paper.extra.items() if k not in extra})
    merged["extra"] = extra
    return merged


def new_values(paper: ParsedPaper, compounds: str | None = None) -> dict[str, Any]:
    return {
        "arxiv_id": paper.arxiv_id, "version": paper.version, "title": paper.title,
        "title_key": paper.title_key, "abstract": paper.abstract,
        "authors": list(paper.authors) if paper.authors else None,
        "author_count": len(paper.authors) if paper.authors else paper.author_count,
        "organization": paper.organization, "published_on": paper.published_on,
        "listed_on": paper.listed_on, "upvotes": paper.upvotes, "sources": [paper.source],
        "extra": dict(paper.extra), "compounds": _compounds(paper) if compounds is None else compounds,
    }


def _compounds(paper: ParsedPaper) -> str:
    return " ".join(joined_compounds(f"{paper.title} {paper.abstract}"))


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


Key = int | str  # a stored record's id, or "new:N" for one this chunk creates


def _absorbed(row: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """`row` after merging `other` (the same paper seen as a second record) into it, as a re-ingest of the other's
    sightings would: earliest dates, most upvotes, every source, authors and metadata it lacked; its text is its
    own."""
    merged = dict(row)
    if not merged.get("authors") and other.get("authors"):
        merged["authors"] = list(other["authors"])
    if merged.get("authors"):
        merged["author_count"] = len(merged["authors"])
    elif not merged.get("author_count"):
        merged["author_count"] = other.get("author_count")
    merged["organization"] = merged.get("organization") or other.get("organization")
    merged["version"] = _max_int(merged.get("version"), other.get("version"))
    merged["published_on"] = _min_date(merged.get("published_on"), other.get("published_on"))
    merged["listed_on"] = _min_date(merged.get("listed_on"), other.get("listed_on"))
    merged["upvotes"] = _max_int(merged.get("upvotes"), other.get("upvotes"))
    merged["sources"] = sorted(set(merged.get("sources") or []) | set(other.get("sources") or []))
    merged["extra"] = {**(other.get("extra") or {}), **(merged.get("extra") or {})}
    return merged


class _Index:
    """Known records of one batch, findable by arXiv id and by every title key they were seen under, kept current
    as the batch merges."""

    def __init__(self) -> None:
        self.rows: dict[Key, dict[str, Any]] = {}
        self.by_id: dict[str, Key] = {}
        self.by_title: dict[str, list[Key]] = {}
        self.keys_of: dict[Key, list[str]] = {}
        self.aliases: set[tuple[int, str]] = set()  # (record, title key) rows of paper_title_keys
        self.merged: dict[Key, Key] = {}  # records of this batch merged into another

    def put(self, key: Key, row: dict[str, Any]) -> None:
        self.rows[key] = row
        if row.get("arxiv_id"):
            self.by_id[row["arxiv_id"]] = key
        self.learn(key, row["title_key"])

    def learn(self, key: Key, title_key: str) -> None:
        """The record was seen under this title key."""
        keys = self.by_title.setdefault(title_key, [])
        if key not in keys:
            keys.append(key)
            self.keys_of.setdefault(key, []).append(title_key)

    def find(self, paper: ParsedPaper) -> Key | None:
        """The record a sighting belongs to: the one with its id; else the title-only record of its title (which
        then learns the id); else, for a sighting without an id, the oldest record seen under its title."""
        if paper.arxiv_id and paper.arxiv_id in self.by_id:
            return self.by_id[paper.arxiv_id]
        candidates = self.by_title.get(paper.title_key, [])
        title_only = [key for key in candidates if not self.rows[key].get("arxiv_id")]
        if paper.arxiv_id:
            return title_only[0] if title_only else None
        found = title_only or candidates
        return found[0] if found else None

    def settle(self, title_key: str) -> None:
        """The title-only records seen under `title_key` are the one paper with an id seen under it, if there is
        exactly one (with two, which one they are cannot be known): they become that record. A sighting with an
        id makes its record known under the title; one without finds the record already there, so only two
        ingests at one moment can leave records for it to settle (see `storage.models.PaperTitleKey`)."""
        keys = self.by_title.get(title_key, [])
        with_id = [k for k in keys if self.rows[k].get("arxiv_id")]
        if len(with_id) == 1:
            for stray in [k for k in keys if k != with_id[0]]:
                self.absorb(with_id[0], stray)

    def absorb(self, keep: Key, gone: Key) -> None:
        """Record `gone` is record `keep`: one record from now on, known under the titles of both."""
        self.rows[keep] = _absorbed(self.rows[keep], self.rows[gone])
        for title_key in self.keys_of.pop(gone, []):
            self.by_title[title_key].remove(gone)
            self.learn(keep, title_key)
        self.merged[gone] = keep


async def store_papers(session: AsyncSession, papers: Sequence[ParsedPaper]) -> IngestCounts:
    """Merge one source's papers into the store inside the caller's transaction."""
    writer = PaperWriter(session)
    try:
        for chunk in _chunks(papers, WRITE_CHUNK):
            await writer.add(chunk)
        return await writer.finish()
    finally:
        await writer.settle()


class PaperWriter:
    """Merges one source's papers into the store a chunk at a time, inside the caller's transaction, so a source
    of any size is written in bounded memory; the counts and paper ids are those of merging it all at once.

    A chunk sees what earlier chunks wrote, so a paper listed twice in a source is one record either way. What
    has to be remembered across chunks is small: which records this source created (a later sighting of one is
    part of "new"), and a fingerprint of each existing record as it was before the source (a record counts as
    updated when its fields end up different, however many chunks touched it).

    On SQLite, filling the full-text index for a chunk's new rows (a third of an ingest's time, spent in the
    database thread without Python's lock) goes on while `add` returns and the caller parses the next chunk; the
    next call waits for it first. Call `finish` for the counts, and `settle` on the way out in any case, so that
    no statement is still running when the transaction ends.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.now = datetime.now(UTC)
        self._sqlite = session.get_bind().dialect.name == "sqlite"
        self._created: set[int] = set()
        # Existing records the source names -> fingerprint before the source (None: not changed so far), and
        # the fingerprint now of those it changed.
        self._before: dict[int, int | None] = {}
        self._after: dict[int, int] = {}
        self._order: dict[int, None] = {}  # every record the source named, first sighting first
        self._indexing: asyncio.Future[Any] | None = None  # SQLite: the full-text fill of the last chunk
        self._fill: tuple[int, int] | None = None  # SQLite: the ids of this chunk's new rows, to index
        self._cache_pages: int | None = None  # SQLite: the connection's page cache before writing
        self._identity_locks = 0  # PostgreSQL: identity locks held (see `_claim`)
        self._exclusive = False  # PostgreSQL: holding the lock that excludes every other ingest instead

    async def add(self, papers: Sequence[ParsedPaper]) -> None:
        if self._sqlite and self._cache_pages is None:
            self._cache_pages = (await self.session.execute(text("PRAGMA cache_size"))).scalar_one()
            await self.session.execute(text(f"PRAGMA cache_size = {_SQLITE_WRITE_CACHE}"))
        # While the last chunk is being indexed, get this chunk's compounds ready (likely new papers too).
        warm = {id(p): _compounds(p) for p in papers} if self._indexing is not None else {}
        await self._indexed()
        if not self._sqlite:
            await self._claim(papers)
        index = await self._load(papers)
        original = {key: dict(row) for key, row in index.rows.items()}
        pending_new: list[str] = []
        order: list[Key] = []
        for paper in papers:
            key = index.find(paper)
            if key is None:
                key = f"new:{len(pending_new)}"
                pending_new.append(key)
                index.put(key, new_values(paper, warm.get(id(paper))))
            else:
                index.put(key, merge_values(index.rows[key], paper, warm.get(id(paper))))
            index.learn(key, paper.title_key)
            index.settle(paper.title_key)
            order.append(key)
        gone = [k for k in index.merged if isinstance(k, int)]  # stored records that are another's paper
        current: dict[int, dict[str, Any]] = {}
        if gone:
            # As they are now, locked (see `storage.paper_merges`): what other writers gave them is kept too. One
            # missing was merged away by another process meanwhile.
            current = await lock_records(self.session, gone, [getattr(Paper, f) for f in _FIELDS])
            for pk, row in current.items():
                keep = _final(index.merged, pk)
                index.rows[keep] = _absorbed(index.rows[keep], row)
        changed = []
        for key, before in original.items():
            if key in index.merged:
                continue
            after = index.rows[key]
            if any(after.get(f) != before.get(f) for f in _FIELDS):
                changed.append({"id": key, **{f: after[f] for f in _FIELDS}, "updated_at": self.now})
                assert isinstance(key, int)  # only stored records were loaded
                if key not in self._created and self._before.get(key) is None:
                    self._before[key] = _fingerprint(before)  # as it was before the source: unchanged so far
                self._after[key] = _fingerprint(after)
        if changed:
            await self.session.execute(update(Paper), changed)
        # A record new in this chunk may have merged later sightings: insert what the index holds now.
        inserting = [key for key in pending_new if key not in index.merged]
        new_ids = await self._insert({key: index.rows[key] for key in inserting}) if inserting else {}

        def final_id(key: Key) -> int:
            key = _final(index.merged, key)
            return new_ids[key] if isinstance(key, str) else key

        if gone:
            moved = {pk: final_id(pk) for pk in gone}
            await merge_records(self.session, {pk: keep for pk, keep in moved.items() if pk in current})
            self._forget(moved)
        await self._remember_aliases(index, final_id)
        if self._fill is not None:
            fill = self.session.execute(_SQLITE_FTS_RANGE, dict(zip(("first", "last"), self._fill, strict=True)))
            self._fill = None
            self._indexing = asyncio.ensure_future(fill)
            await asyncio.sleep(0)  # on its way to the database thread before the caller goes on
        for key in order:
            self._order[final_id(key)] = None
        created = set(new_ids.values())
        for key in order:
            pk = final_id(key)
            if pk not in self._created and pk not in created:
                self._before.setdefault(pk, None)  # an existing record the source names
        self._created.update(created)

    def _forget(self, moved: dict[int, int]) -> None:
        """Records merged away: the source named (or created) the records they were merged into instead."""
        for gone in moved:
            self._created.discard(gone)  # the source saw its paper as the kept record too
            self._before.pop(gone, None)
            self._after.pop(gone, None)
        self._order = {moved.get(pk, pk): None for pk in self._order}

    async def _remember_aliases(self, index: _Index, final_id: Callable[[Key], int]) -> None:
        """The title keys each record was seen under other than its current one, written once (a key that is
        current again is no alias any more). Records whose title never changed, nearly all, write nothing."""
        rows: set[tuple[str, int]] = set()
        current: list[dict[str, Any]] = []
        for key, keys in index.keys_of.items():
            if key in index.merged:
                continue
            pk, title_key = final_id(key), index.rows[key]["title_key"]
            rows.update((k, pk) for k in keys if k != title_key and (pk, k) not in index.aliases)
            if (pk, title_key) in index.aliases:
                current.append({"key": title_key, "pk": pk})
        table = cast(Table, PaperTitleKey.__table__)
        if current:
            await self.session.execute(delete(table).where(table.c.title_key == bindparam("key"),
                                                           table.c.paper_id == bindparam("pk")), current)
        for chunk in _chunks(sorted(rows)):
            values = [{"title_key": title_key, "paper_id": pk} for title_key, pk in chunk]
            # A merge in this chunk may have written one already (`storage.paper_merges`).
            await self.session.execute(_insert_new(self.session, PaperTitleKey).values(values)
                                       .on_conflict_do_nothing(index_elements=["title_key", "paper_id"]))

    async def finish(self) -> IngestCounts:
        """What the source did, once everything is written."""
        await self._indexed()
        return self.counts()

    async def settle(self) -> None:
        """Wait for a statement still running (after a failure, its own error does not matter), and give the
        connection back its usual page cache."""
        with contextlib.suppress(Exception):
            await self._indexed()
            if self._cache_pages is not None:
                await self.session.execute(text(f"PRAGMA cache_size = {int(self._cache_pages)}"))
                self._cache_pages = None

    def counts(self) -> IngestCounts:
        updated = sum(1 for pk, before in self._before.items() if before is not None and self._after[pk] != before)
        return IngestCounts(new=len(self._created), updated=updated, unchanged=len(self._before) - updated,
                            paper_ids=list(self._order))

    async def _claim(self, papers: Sequence[ParsedPaper]) -> None:
        """Lock the papers' identities until the transaction ends (see the module's docstring): one statement for
        the chunk, its locks taken in one order by every process, so that two one-chunk ingests (a day's listing)
        never wait on each other in a circle. A hash shared by two identities only makes their ingests take
        turns. Past IDENTITY_LOCK_BUDGET the transaction takes, instead, the one lock that excludes every other
        ingest (and needs no row locks then)."""
        if self._exclusive:
            return
        keys = {_lock_key("title", p.title_key) for p in papers}
        keys.update(_lock_key("arxiv", p.arxiv_id) for p in papers if p.arxiv_id)
        if self._identity_locks + len(keys) > IDENTITY_LOCK_BUDGET:
            # A big source: it waits for the ingests under way and every other waits for it, one lock in all.
            await self.session.execute(_LOCK_ALL_INGESTS, {"all": _INGEST_LOCK})
            self._exclusive = True
            return
        await self.session.execute(_LOCK_IDENTITIES, {"all": _INGEST_LOCK, "space": _IDENTITY_LOCKS,
                                                      "keys": sorted(keys)})
        self._identity_locks += len(keys)

    async def _load(self, papers: Sequence[ParsedPaper]) -> _Index:
        """The stored records these papers could merge into: the same arXiv id, or seen under the same title key
        (their current one, or one they had before a new version retitled them)."""
        index = _Index()
        ids = sorted({p.arxiv_id for p in papers if p.arxiv_id})
        titles = sorted({p.title_key for p in papers})
        columns = [Paper.id, *(getattr(Paper, f) for f in _FIELDS)]
        found: dict[int, dict[str, Any]] = {}
        aliases: list[tuple[int, str]] = []

        def locked(stmt: Any) -> Any:
            """PostgreSQL: the rows as last committed, locked until the transaction ends, so that a process that
            found the record by another identity (its id here, a title there) waits and then reads what this one
            wrote, rather than writing back what it read before. FOR NO KEY UPDATE, as an UPDATE takes: a summary
            or a vote naming the paper is not held up. Each statement locks in id order, as every process's does."""
            if self._sqlite or self._exclusive:
                return stmt  # (an ORDER BY could lure SQLite off the index it should use)
            return stmt.order_by(Paper.id).with_for_update(key_share=True, of=Paper)

        for chunk in _chunks(ids):
            stmt = locked(select(*columns).where(Paper.arxiv_id.in_(chunk)))
            for row in (await self.session.execute(stmt)).mappings():
                found[row["id"]] = dict(row)
        # Current keys before aliases: a record another process retitles meanwhile moves its old key from one to
        # the other in one commit, and each statement sees the commits made before it, so one of them finds it.
        for chunk in _chunks(titles):
            stmt = locked(select(*columns).where(Paper.title_key.in_(chunk)))
            for row in (await self.session.execute(stmt)).mappings():
                found[row["id"]] = dict(row)
        for chunk in _chunks(titles):  # usually nothing: few papers were ever retitled
            stmt = locked(select(PaperTitleKey.title_key.label("alias"), *columns)
                          .join(Paper, Paper.id == PaperTitleKey.paper_id).where(PaperTitleKey.title_key.in_(chunk)))
            for row in (await self.session.execute(stmt)).mappings():
                found[row["id"]] = {k: v for k, v in row.items() if k != "alias"}
                aliases.append((row["id"], row["alias"]))
        for pk in sorted(found):  # the oldest record first wherever a title names several
            index.put(pk, found[pk])
        for pk, title_key in sorted(aliases):
            index.learn(pk, title_key)
            index.aliases.add((pk, title_key))
        return index

    async def _insert(self, pending: dict[str, dict[str, Any]]) -> dict[int | str, int]:
        """Insert new records; their ids by key."""
        keys = list(pending)
        rows = [{**pending[k], "created_at": self.now, "updated_at": self.now} for k in keys]
        last = await self._max_id() if self._sqlite else None
        if last is not None:
            # SQLite numbers a row one above the highest: never a merged record's number (a digest may show it).
            merged = int((await self.session.execute(select(func.coalesce(func.max(PaperMerge.merged_id), 0))))
                         .scalar_one())
            if merged > last:
                last = merged
                rows = [{**row, "id": last + 1 + n} for n, row in enumerate(rows)]
        # Plain executemany (no RETURNING): one round trip per chunk instead of one per row on SQLite.
        for chunk in _chunks(rows):
            await self.session.execute(insert(PAPERS), list(chunk))
        if last is not None and await self._appended(last, len(keys)):
            # SQLite gave each row one more than the largest id: the rows hold the next ids, in order.
            self._fill = (last + 1, last + len(keys))  # started when the chunk's other statements are done
            return {k: last + 1 + n for n, k in enumerate(keys)}
        new_ids = await _ids_of(self.session, {k: pending[k] for k in keys})
        await _index_new_papers(self.session, list(new_ids.values()))
        return new_ids

    async def _indexed(self) -> None:
        if self._indexing is not None:
            indexing, self._indexing = self._indexing, None
            await indexing

    async def _max_id(self) -> int:
        return int((await self.session.execute(select(func.coalesce(func.max(Paper.id), 0)))).scalar_one())

    async def _appended(self, last: int, count: int) -> bool:
        """Whether the rows above `last` are exactly `last`+1 … `last`+`count` (checked, never assumed)."""
        stmt = select(func.count(), func.max(Paper.id)).where(Paper.id > last)
        found, highest = (await self.session.execute(stmt)).one()
        return bool(found == count and highest == last + count)


def _final(merged: dict[Key, Key], key: Key) -> Key:
    """The record `key` ended up as after this batch's merges."""
    while key in merged:
        key = merged[key]
    return key


def _insert_new(session: AsyncSession, model: Any) -> Any:
    """An INSERT that can skip rows already there (ON CONFLICT DO NOTHING), in the session's dialect."""
    return (postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert)(model)


def _lock_key(kind: str, value: str) -> int:
    """A stable 32-bit advisory lock key for an identity, the same in every process (unlike `hash`)."""
    return int.from_bytes(hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=4).digest(), "big", signed=True)


def _fingerprint(row: dict[str, Any]) -> int:
    return hash(repr([row.get(f) for f in _FIELDS]))


_SQLITE_FTS_INSERT = text(
    "INSERT INTO papers_fts(rowid, title, abstract, compounds, authors) "
    "SELECT id, title, abstract, compounds, authors FROM papers WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_SQLITE_FTS_RANGE = text(
    "INSERT INTO papers_fts(rowid, title, abstract, compounds, authors) "
    "SELECT id, title, abstract, compounds, authors FROM papers WHERE id BETWEEN :first AND :last"
)


async def _index_new_papers(session: AsyncSession, ids: list[int]) -> None:
    """SQLite's full-text index for fresh rows, a chunk per statement (migration 0009: a trigger per row took
    half the ingest). PostgreSQL's tsvector is a generated column and needs nothing."""
    if session.get_bind().dialect.name != "sqlite":
        return
    for chunk in _chunks(sorted(ids)):
        await session.execute(_SQLITE_FTS_INSERT, {"ids": list(chunk)})


async def _ids_of(session: AsyncSession, rows: dict[int | str, dict[str, Any]]) -> dict[int | str, int]:
    """Primary keys of freshly inserted rows, found by their identity (arXiv id, else title key)."""
    by_arxiv = {r["arxiv_id"]: k for k, r in rows.items() if r["arxiv_id"]}
    by_title = {r["title_key"]: k for k, r in rows.items() if not r["arxiv_id"]}
    found: dict[int | str, int] = {}
    for chunk in _chunks(list(by_arxiv)):
        by_id = select(Paper.id, Paper.arxiv_id).where(Paper.arxiv_id.in_(chunk))
        for pk, arxiv_id in (await session.execute(by_id)).all():
            found[by_arxiv[arxiv_id]] = pk
    for chunk in _chunks(list(by_title)):
        # Filter on arxiv_id in Python: "arxiv_id IS NULL" in SQL lures SQLite onto the arxiv_id index (a scan).
        by_key = select(Paper.id, Paper.title_key, Paper.arxiv_id).where(Paper.title_key.in_(chunk))
        for pk, title_key, arxiv_id in (await session.execute(by_key)).all():
            if arxiv_id is None:
                found[by_title[title_key]] = pk
    return found


# ---------------------------------------------------------------------------------------------- reading

def paper_day() -> Any:
    """The day a paper belongs to: its listing day when a daily list carried it, else its publication day."""
    return func.coalesce(Paper.listed_on, Paper.published_on)


async def list_papers(session: AsyncSession, *, day: date | None = None, limit: int | None = 50) -> list[Paper]:
    stmt = select(Paper)
    if day is not None:
        stmt = stmt.where(paper_day() == day)
    stmt = stmt.order_by(paper_day().desc().nulls_last(), Paper.upvotes.desc().nulls_last(), Paper.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.execute(stmt)).scalars())


async def papers_of_days(session: AsyncSession, since: date, until: date) -> list[Paper]:
    """Every paper of the days from `since` to `until` (inclusive), in id order."""
    stmt = select(Paper).where(paper_day() >= since, paper_day() <= until).order_by(Paper.id)
    return list((await session.execute(stmt)).scalars())


async def load_papers(session: AsyncSession, ids: Sequence[int]) -> list[Paper]:
    """The papers with these ids (in no particular order), fetched in chunks the databases accept."""
    papers: list[Paper] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        papers.extend((await session.execute(select(Paper).where(Paper.id.in_(chunk)))).scalars())
    return papers


async def get_paper(session: AsyncSession, paper_id: int) -> Paper | None:
    """By our id, also the id of a record since merged into another (a list or a button posted before the merge
    that another process's merge did not get to rewrite)."""
    paper = await session.get(Paper, paper_id)
    if paper is None and (kept := await merged_into(session, paper_id)) is not None:
        paper = await session.get(Paper, kept)
    return paper


async def top_papers(session: AsyncSession, since: date, until: date, *, limit: int) -> list[Paper]:
    """The most upvoted papers of the days from `since` to `until`; papers without upvotes last."""
    stmt = (select(Paper).where(paper_day() >= since, paper_day() <= until)
            .order_by(Paper.upvotes.desc().nulls_last(), Paper.id).limit(limit))
    return list((await session.execute(stmt)).scalars())


def reference_kind(ref: str) -> str | None:
    """What identifier `ref` is, when it names one paper rather than saying words: "arXiv id" (an id, its DOI or a
    link), "number" (our `#12`), else None. Search answers such a query with that paper, which the words of an id
    or a URL could never find."""
    ref = ref.strip()
    if parse_arxiv_ref(ref) is not None:
        return "arXiv id"
    if ref.startswith("#") and ref[1:].isascii() and ref[1:].isdigit():
        return "number"
    return None


async def find_paper(session: AsyncSession, ref: str) -> Paper | None:
    """By arXiv id or URL (any version), by our numeric id (`#12`), or by exact title."""
    ref = ref.strip()
    arxiv = parse_arxiv_ref(ref)
    if arxiv is not None:
        return (await session.execute(select(Paper).where(Paper.arxiv_id == arxiv.arxiv_id))).scalar_one_or_none()
    if reference_kind(ref) == "number":
        number = int(ref[1:]) if len(ref) < 19 else MAX_ROW_ID + 1
        if not 0 < number <= MAX_ROW_ID:
            return None
        return await get_paper(session, number)
    key = normalize_title(ref)
    if not key:
        return None
    stmt = select(Paper).where(Paper.title_key == key).order_by(Paper.id).limit(1)
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:  # a title the paper had before a new version retitled it
        stmt = (select(Paper).join(PaperTitleKey, PaperTitleKey.paper_id == Paper.id)
                .where(PaperTitleKey.title_key == key).order_by(Paper.id).limit(1))
        found = (await session.execute(stmt)).scalar_one_or_none()
    return found


def _as_date(value: Any) -> date:
    """SQLite hands back an expression's date as text; PostgreSQL as a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def latest_day(session: AsyncSession, on_or_before: date) -> date | None:
    """The most recent day with papers, not after `on_or_before` (weekends and holidays publish nothing)."""
    stmt = select(func.max(paper_day())).where(paper_day() <= on_or_before)
    value = (await session.execute(stmt)).scalar_one_or_none()
    return None if value is None else _as_date(value)


async def latest_upvoted_day(session: AsyncSession, on_or_before: date) -> date | None:
    """The most recent day with an upvoted paper, not after `on_or_before` (a morning's list has none yet, and
    arXiv's listings never carry upvotes)."""
    stmt = select(func.max(paper_day())).where(paper_day() <= on_or_before, Paper.upvotes > 0)
    value = (await session.execute(stmt)).scalar_one_or_none()
    return None if value is None else _as_date(value)


async def listed_by(session: AsyncSession, day: date, source_prefix: str) -> bool:
    """Whether a listing from a source whose name starts with `source_prefix` ("hf": Hugging Face Daily Papers)
    put any paper on `day`. The bot's start-up catch-up asks this, so that a restart does not fetch the day again."""
    stmt = select(Paper.sources).where(Paper.listed_on == day)
    for sources in (await session.execute(stmt)).scalars():
        if any(str(source).startswith(source_prefix) for source in sources or []):
            return True
    return False


async def latest_day_among(session: AsyncSession, ids: Iterable[int]) -> date | None:
    """The newest day of the given papers (e.g. the last day a channel's digests covered)."""
    return max((await days_of(session, ids)).values(), default=None)


async def count_papers(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count(Paper.id)))).scalar_one())


async def iter_papers(session: AsyncSession, batch: int = 1000) -> AsyncIterator[Paper]:
    """All papers in id order, a batch at a time, so exporting 100k papers stays in bounded memory."""
    last = 0
    while True:
        stmt = select(Paper).where(Paper.id > last).order_by(Paper.id).limit(batch)
        rows = list((await session.execute(stmt)).scalars())
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1].id
        session.expunge_all()



def paper_to_record(paper: Paper) -> dict[str, Any]:
    """The public shape of a paper (JSONL export, `--json` output): stable keys, ISO dates, lists never null."""
    return {
        "id": paper.id,
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors or []),
        "author_count": paper.author_count,
        "organization": paper.organization,
        "published_on": paper.published_on.isoformat() if paper.published_on else None,
        "listed_on": paper.listed_on.isoformat() if paper.listed_on else None,
        "upvotes": paper.upvotes,
        "url": paper_url(paper.arxiv_id),
        "sources": list(paper.sources or []),
    }


async def days_of(session: AsyncSession, ids: Iterable[int]) -> dict[int, date]:
    """Each paper's day, for many papers at once."""
    found: dict[int, date] = {}
    for chunk in _chunks(sorted(set(ids))):
        for pid, value in (await session.execute(select(Paper.id, paper_day()).where(Paper.id.in_(chunk)))).all():
            if value is not None:
                found[int(pid)] = _as_date(value)
    return found
