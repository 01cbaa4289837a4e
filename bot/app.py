"""The composition root: the one place that turns settings into live objects and hands them around."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

from bot.clock import Clock, local_today, system_clock
from bot.config import Settings
from bot.ingestion.http_fetchers import (
    ARXIV_MIN_INTERVAL,
    ArxivFetcher,
    HttpFetcher,
    HuggingFaceFetcher,
    make_client,
)
from bot.ingestion.ingest_service import Ingestor
from storage.database import Database


@dataclass
class App:
    settings: Settings
    db: Database
    clock: Clock
    ingestor: Ingestor

    def today(self) -> date:
        return local_today(self.clock, self.settings.timezone)


@asynccontextmanager
async def open_app(settings: Settings, *, clock: Clock = system_clock) -> AsyncIterator[App]:
    """Everything a command needs, started in one place and closed cleanly whatever happens inside."""
    db = Database(settings.database_url, schema=settings.database_schema)
    client = make_client(settings.http_timeout)
    try:
        await db.upgrade()
        hf = HuggingFaceFetcher(HttpFetcher(client), settings.hf_base_url)
        arxiv = ArxivFetcher(HttpFetcher(client, min_interval=ARXIV_MIN_INTERVAL), settings.arxiv_base_url)
        def today() -> date:
            return local_today(clock, settings.timezone)

        yield App(settings=settings, db=db, clock=clock, ingestor=Ingestor(db, today=today, hf=hf, arxiv=arxiv))
    finally:
        await client.aclose()
        await db.dispose()
