"""Storing sightings of papers as one record per paper, and reading papers back.

Merging is deliberately order-independent where it can be (earliest dates, highest upvotes and versions, the
union of sources), so re-ingesting the same listings in any order leaves the store exactly as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.compounds import joined_compounds
from bot.papers import ParsedPaper, normalize_title, paper_url, parse_arxiv_ref
from storage.models import Paper

_CHUNK = 500  # rows per statement: well inside every database's parameter limits
WRITE_CHUNK = 2_000  # papers merged and written at a time
# SQLite's page cache while writing (negative: KiB): the papers table, its indexes and the full-text segments
# being merged stay in memory; the default 2 MB doubled the time of inserting.
_SQLITE_WRITE_CACHE = -64 * 1024
MAX_ROW_ID = 2**31 - 1  # ids are 32-bit INTEGER columns on PostgreSQL; larger numbers name no paper
PAPERS = cast(Table, Paper.__table__)
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


class _Index:
    """Known records of one batch, findable by arXiv id and by title key, kept current as the batch merges."""

    def __init__(self) -> None:
        self.rows: dict[int | str, dict[str, Any]] = {}
        self.by_id: dict[str, int | str] = {}
        self.by_title: dict[str, list[int | str]] = {}

    def put(self, key: int | str, row: dict[str, Any]) -> None:
        self.rows[key] = row
        if row.get("arxiv_id"):
            self.by_id[row["arxiv_id"]] = key
        keys = self.by_title.setdefault(row["title_key"], [])
        if key not in keys:
            keys.append(key)

    def find(self, paper: ParsedPaper) -> int | str | None:
        if paper.arxiv_id:
            if paper.arxiv_id in self.by_id:
                return self.by_id[paper.arxiv_id]
            for key in self.by_title.get(paper.title_key, []):
                if not self.rows[key].get("arxiv_id"):
                    return key  # a title-only record learns its id
            return None
        candidates = self.by_title.get(paper.title_key, [])
        return candidates[0] if candidates else None


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
        self._cache_pages: int | None = None  # SQLite: the connection's page cache before writing

    async def add(self, papers: Sequence[ParsedPaper]) -> None:
        if self._sqlite and self._cache_pages is None:
            self._cache_pages = (await self.session.execute(text("PRAGMA cache_size"))).scalar_one()
            await self.session.execute(text(f"PRAGMA cache_size = {_SQLITE_WRITE_CACHE}"))
        # While the last chunk is being indexed, get this chunk's compounds ready (likely new papers too).
        warm = {id(p): _compounds(p) for p in papers} if self._indexing is not None else {}
        await self._indexed()
        index = await self._load(papers)
        original = {key: dict(row) for key, row in index.rows.items()}
        pending_new: list[str] = []
        order: list[int | str] = []
        for paper in papers:
            key = index.find(paper)
            if key is None:
                key = f"new:{len(pending_new)}"
                pending_new.append(key)
                index.put(key, new_values(paper, warm.get(id(paper))))
            else:
                index.put(key, merge_values(index.rows[key], paper, warm.get(id(paper))))
            order.append(key)
        changed = []
        for key, before in original.items():
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
        new_ids = await self._insert({key: index.rows[key] for key in pending_new}) if pending_new else {}
        for key in order:
            self._order[new_ids[key] if isinstance(key, str) else key] = None
        for key in order:
            if not isinstance(key, str) and key not in self._created:
                self._before.setdefault(key, None)  # an existing record the source names
        self._created.update(new_ids.values())

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

    async def _load(self, papers: Sequence[ParsedPaper]) -> _Index:
        """The stored records these papers could merge into: the same arXiv id or the same title key."""
        index = _Index()
        ids = sorted({p.arxiv_id for p in papers if p.arxiv_id})
        titles = sorted({p.title_key for p in papers})
        columns = [Paper.id, *(getattr(Paper, f) for f in _FIELDS)]
        for chunk in _chunks(ids):
            for row in (await self.session.execute(select(*columns).where(Paper.arxiv_id.in_(chunk)))).mappings():
                index.put(row["id"], dict(row))
        for chunk in _chunks(titles):
            for row in (await self.session.execute(select(*columns).where(Paper.title_key.in_(chunk)))).mappings():
                index.put(row["id"], dict(row))
        return index

    async def _insert(self, pending: dict[str, dict[str, Any]]) -> dict[int | str, int]:
        """Insert new records; their ids by key."""
        keys = list(pending)
        rows = [{**pending[k], "created_at": self.now, "updated_at": self.now} for k in keys]
        last = await self._max_id() if self._sqlite else None
        # Plain executemany (no RETURNING): one round trip per chunk instead of one per row on SQLite.
        for chunk in _chunks(rows):
            await self.session.execute(insert(PAPERS), list(chunk))
        if last is not None and await self._appended(last, len(keys)):
            # SQLite gave each row one more than the largest id: the rows hold the next ids, in order.
            fill = self.session.execute(_SQLITE_FTS_RANGE, {"first": last + 1, "last": last + len(keys)})
            self._indexing = asyncio.ensure_future(fill)
            await asyncio.sleep(0)  # on its way to the database thread before the caller goes on
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
    return await session.get(Paper, paper_id)


async def top_papers(session: AsyncSession, since: date, until: date, *, limit: int) -> list[Paper]:
    """The most upvoted papers of the days from `since` to `until`; papers without upvotes last."""
    stmt = (select(Paper).where(paper_day() >= since, paper_day() <= until)
            .order_by(Paper.upvotes.desc().nulls_last(), Paper.id).limit(limit))
    return list((await session.execute(stmt)).scalars())


async def find_paper(session: AsyncSession, ref: str) -> Paper | None:
    """By arXiv id or URL (any version), by our numeric id (`#12`), or by exact title."""
    ref = ref.strip()
    arxiv = parse_arxiv_ref(ref)
    if arxiv is not None:
        return (await session.execute(select(Paper).where(Paper.arxiv_id == arxiv.arxiv_id))).scalar_one_or_none()
    if ref.startswith("#") and ref[1:].isascii() and ref[1:].isdigit():
        number = int(ref[1:]) if len(ref) < 19 else MAX_ROW_ID + 1
        return await session.get(Paper, number) if 0 < number <= MAX_ROW_ID else None
    key = normalize_title(ref)
    if not key:
        return None
    stmt = select(Paper).where(Paper.title_key == key).order_by(Paper.id).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


def _as_date(value: Any) -> date:
    """SQLite hands back an expression's date as text; PostgreSQL as a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def latest_day(session: AsyncSession, on_or_before: date) -> date | None:
    """The most recent day with papers, not after `on_or_before` (weekends and holidays publish nothing)."""
    stmt = select(func.max(paper_day())).where(paper_day() <= on_or_before)
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
