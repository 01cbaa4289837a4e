"""A console bot over a real database with the sample pages ingested, at a fixed moment in time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from adapters.console.console_adapter import ConsoleAdapter
from bot.app import App, build_command_core
from bot.clock import fixed_clock
from bot.commands.command_core import CommandCore
from bot.config import Settings
from bot.ingestion.ingest_service import Ingestor, sample_sources
from bot.summaries.summary_service import SummaryService
from storage.database import Database

# A Wednesday: the latest listing day in the sample is Monday 2026-04-20.
NOW = datetime(2026, 4, 22, 10, 0, tzinfo=UTC)
TODAY = date(2026, 4, 22)


@dataclass
class Bot:
    core: CommandCore
    console: ConsoleAdapter
    output: list[str]

    def text(self) -> str:
        return "\n".join(self.output)

    def last(self) -> str:
        return self.output[-1] if self.output else ""


def make_bot(db: Database, *, channel: str = "general", user: str = "ada", summaries: SummaryService | None = None,
             now: datetime = NOW) -> Bot:
    """The bot as `paperboy run` builds it (`bot.app.build_command_core`), on default settings that ignore the
    environment, with the console adapter writing into `output`."""
    settings = Settings.model_construct(timezone="UTC")
    app = App(settings=settings, db=db, clock=fixed_clock(now), ingestor=Ingestor(db, today=lambda: now.date()),
              summaries=summaries or SummaryService(db, llm=None, today=lambda: now.date()))
    core = build_command_core(app)
    output: list[str] = []
    return Bot(core, ConsoleAdapter(core, channel=channel, user=user, write=output.append), output)


async def ingest_samples(db: Database) -> None:
    ingestor = Ingestor(db, today=lambda: TODAY)
    for source in sample_sources():
        await ingestor.ingest(source)
