"""From a source a user names (`file.txt`, `hf:2026-03-06`, `arxiv:QUERY`, the bundled sample) to stored papers.

A source is parsed as a stream and stored a chunk of papers at a time, all in one transaction: memory stays
bounded whatever the size, and a source found malformed anywhere (even in its last byte) is rolled back, leaving
the database exactly as it was. A single paper that cannot be stored (see `paper_checks`), or a single JSON item
or feed entry that is not a paper (no title, no id), is skipped and reported instead, so one poisoned item never
blocks the rest of a day. A document whose every item is bad still fails: that is a changed format, not a typo.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UsageError
from bot.ingestion.formats import MAX_LISTING_BYTES, iter_listing
from bot.ingestion.http_fetchers import ArxivFetcher, FetchedDocument, HuggingFaceFetcher
from bot.ingestion.paper_checks import BadItem, Unstorable, checked_paper
from bot.papers import ParsedPaper, parse_arxiv_ref
from storage.database import Database, worth_retrying
from storage.paper_store import WRITE_CHUNK, IngestCounts, PaperWriter

_HF_RE = re.compile(r"^hf:(?P<day>today|[0-9]{4}-[0-9]{2}-[0-9]{2})$", re.IGNORECASE)
_MAX_STORE_ATTEMPTS = 3
_YIELD_EVERY = 200  # papers parsed between turns of the event loop


@dataclass(frozen=True)
class Source:
    kind: str  # file | hf | arxiv | sample
    value: str

    def __str__(self) -> str:
        return self.value if self.kind in ("file", "sample") else f"{self.kind}:{self.value}"


def sample_sources() -> list[Source]:
    """The real HF pages shipped inside the package, so a fresh install can try everything offline."""
    folder = resources.files("bot") / "samples"
    return [Source("sample", str(item)) for item in sorted(folder.iterdir(), key=lambda p: p.name)
            if item.name.endswith(".txt")]


def parse_source(spec: str) -> Source:
    spec = spec.strip()
    if not spec:
        raise UsageError("empty source")
    if m := _HF_RE.match(spec):
        return Source("hf", m.group("day").lower())
    if spec.lower().startswith("hf:"):
        raise UsageError(f"bad source {spec[:60]!r}: use hf:YYYY-MM-DD or hf:today")
    if spec.lower().startswith("arxiv:"):
        query = spec[len("arxiv:"):].strip()
        if not query or len(query) > 1000:
            raise UsageError("arxiv: needs a query, e.g. arxiv:cat:cs.LG or arxiv:2401.12345")
        return Source("arxiv", query)
    return Source("file", spec)


class Listing(Protocol):
    """One document of a source: where it came from, and its bytes from the start each time it is opened."""

    @property
    def where(self) -> str: ...

    @property
    def listed_on(self) -> date | None: ...

    def open(self) -> BinaryIO: ...


@dataclass(frozen=True)
class ListingFile:
    """A listing file, opened only when parsed."""

    path: Path
    where: str
    listed_on: date | None = None

    def open(self) -> BinaryIO:
        return open_listing_file(self.path, self.where)


class Ingestor:
    """Reads, fetches, parses and stores sources; the network pieces are handed in and optional."""

    def __init__(
        self,
        db: Database,
        *,
        today: Callable[[], date],
        hf: HuggingFaceFetcher | None = None,
        arxiv: ArxivFetcher | None = None,
    ) -> None:
        self.db = db
        self.today = today
        self.hf = hf
        self.arxiv = arxiv

    async def documents(self, source: Source) -> Sequence[Listing]:
        if source.kind in ("file", "sample"):
            return [_listing_file(source)]
        if source.kind == "hf":
            if self.hf is None:
                raise UsageError("fetching from Hugging Face is not configured")
            day = self.today() if source.value == "today" else _parse_day(source.value)
            return await self.hf.daily(day)
        if self.arxiv is None:
            raise UsageError("fetching from arXiv is not configured")
        ids = [parse_arxiv_ref(part) for part in source.value.split(",")]
        if all(ids):
            return await self.arxiv.by_ids([ref.arxiv_id for ref in ids if ref])
        return await self.arxiv.query(source.value)

    async def ingest(self, source: Source) -> IngestCounts:
        return await self.store_documents(await self.documents(source))

    async def store_documents(self, docs: Sequence[Listing]) -> IngestCounts:
        """One transaction; retried when another process inserted the same paper at the same moment, or when
        PostgreSQL cancelled it to break a deadlock with another ingest (`worth_retrying`). Also what a refresh of
        already-fetched documents (follow-ups) stores through, so it merges like any ingestion."""
        for attempt in range(_MAX_STORE_ATTEMPTS):
            try:
                async with self.db.session() as session:
                    return await self._store(session, docs)
            except DBAPIError as exc:
                if not (isinstance(exc, IntegrityError) or worth_retrying(exc)) or attempt == _MAX_STORE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _store(self, session: AsyncSession, docs: Sequence[Listing]) -> IngestCounts:
        """Every storable paper of the documents, a chunk at a time; why each other one is skipped ("title too
        long at item 17", "no summary at item 3"; items count from 0, like the parsers' messages)."""
        writer = PaperWriter(session)
        skipped: list[str] = []
        batch: list[ParsedPaper] = []
        try:
            for doc in docs:
                prefix = f"{doc.where} " if len(docs) > 1 else ""
                bad: list[BadItem] = []

                def skip(item: BadItem, prefix: str = prefix, bad: list[BadItem] = bad) -> None:
                    bad.append(item)
                    skipped.append(f"{item.problem} at {prefix}{item.kind} {item.index}")

                index = -1
                with doc.open() as handle:
                    papers = iter_listing(handle, where=doc.where, today=self.today(), listed_on=doc.listed_on,
                                          skip=skip, fetched=isinstance(doc, FetchedDocument))
                    for index, paper in enumerate(papers):
                        try:
                            batch.append(checked_paper(paper))
                        except Unstorable as exc:
                            skipped.append(f"{exc} at {prefix}item {index + len(bad)}")
                        if len(batch) >= WRITE_CHUNK:
                            await writer.add(batch)
                            batch = []
                        elif index % _YIELD_EVERY == 0:
                            await asyncio.sleep(0)  # let the rest of the bot (and the writer's statement) run
                if bad and index < 0:
                    raise bad[0]  # not one paper: the source's format is not what we read
            if batch:
                await writer.add(batch)
            counts = await writer.finish()
        finally:
            await writer.settle()
        counts.skipped = skipped
        return counts


def _listing_file(source: Source) -> ListingFile:
    path = Path(source.value).expanduser()
    listing = ListingFile(path, path.name if source.kind == "sample" else source.value)
    listing.open().close()  # a missing file, a pipe or a device is a usage error, found before any work
    return listing


def open_listing_file(path: Path, where: str) -> BinaryIO:
    """A regular file only: a FIFO would hang and `/dev/zero` never ends. Its size is checked here and again
    while it is read (a file's reported size is only what it was when we asked)."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UsageError(f"{where}: no such file") from None
    except PermissionError:
        raise UsageError(f"{where}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"{where}: cannot read ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{where}: is a directory, not a listing file")
        raise UsageError(f"{where}: not a regular file (a pipe or device); save the listing to a file first")
    if info.st_size > MAX_LISTING_BYTES:
        os.close(fd)
        raise UsageError(f"{where}: too large (limit {MAX_LISTING_BYTES // 1_000_000} MB)")
    return os.fdopen(fd, "rb")


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"not a date: {value!r} (use YYYY-MM-DD)") from None
