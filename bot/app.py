"""The composition root: the one place that turns settings into live objects and hands them around."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

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
from bot.summaries.circuit_breaker import CircuitBreaker
from bot.summaries.summarizer import Summarizer
from bot.summaries.summary_service import SummaryService
from storage.database import Database

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bot.commands.command_core import CommandCore
    from bot.digests.digest_runner import DigestRunner
    from bot.digests.poster import DigestPoster
    from bot.followups.followup_runner import FollowupRunner
    from bot.topics.semantic import SemanticLayer

Close = Callable[[], Awaitable[None]]


@dataclass
class App:
    settings: Settings
    db: Database
    clock: Clock
    ingestor: Ingestor
    summaries: SummaryService
    semantic: SemanticLayer | None = None  # None: matching is the offline, lexical path

    def today(self) -> date:
        return local_today(self.clock, self.settings.timezone)


@asynccontextmanager
async def open_app(settings: Settings, *, clock: Clock = system_clock) -> AsyncIterator[App]:
    """Everything a command needs, started in one place and closed cleanly whatever happens inside."""
    db = Database(settings.database_url, schema=settings.database_schema)
    client = make_client(settings.http_timeout)
    llm, close_llm = _llm(settings)
    semantic, close_semantic = _semantic(settings, db)
    try:
        await db.upgrade()
        hf = HuggingFaceFetcher(HttpFetcher(client), settings.hf_base_url)
        arxiv = ArxivFetcher(HttpFetcher(client, min_interval=ARXIV_MIN_INTERVAL), settings.arxiv_base_url)
        def today() -> date:
            return local_today(clock, settings.timezone)

        summaries = SummaryService(
            db, llm=llm, today=today, concurrency=settings.llm_concurrency,
            daily_token_budget=settings.llm_daily_token_budget,
            breaker=CircuitBreaker(failure_threshold=settings.llm_breaker_failures,
                                   cooldown=settings.llm_breaker_cooldown),
            now=clock,
        )
        yield App(settings=settings, db=db, clock=clock, ingestor=Ingestor(db, today=today, hf=hf, arxiv=arxiv),
                  summaries=summaries, semantic=semantic)
        await summaries.close()  # writes the batched request counters; skipped when the command failed
    finally:
        await close_semantic()
        await close_llm()
        await client.aclose()
        await db.dispose()


async def _nothing() -> None:
    return None


def _llm(settings: Settings) -> tuple[Summarizer | None, Close]:
    """The LLM summarizer when one is configured, and how to close its connections. The OpenAI SDK is imported
    only then: it adds half a second to every command's start."""

    if not settings.llm_configured:
        return None, _nothing
    from bot.summaries.llm_summarizer import LlmSummarizer, make_openai_client

    client = make_openai_client(settings.llm_base_url, settings.llm_api_key, settings.llm_timeout)
    llm = LlmSummarizer(client, settings.llm_model, timeout=settings.llm_timeout, attempts=settings.llm_max_attempts)
    return llm, client.close


def _semantic(settings: Settings, db: Database) -> tuple[SemanticLayer | None, Close]:
    """The optional semantic layer, or None when neither topic expansion nor embeddings are configured (the
    offline path). Like `_llm`, it imports the OpenAI SDK only when it is needed. Its clients are its own, so
    the summarizer's concurrency and deadlines never queue behind an embedding batch, and the other way round."""
    expand = settings.topic_expansion and settings.llm_configured
    embed = settings.embeddings_configured
    if not (expand or embed):
        return None, _nothing
    from bot.summaries.llm_summarizer import make_openai_client
    from bot.topics.semantic import OpenAIEmbedder, OpenAITopicExpander, SemanticLayer

    clients = []
    expander: OpenAITopicExpander | None = None
    embedder: OpenAIEmbedder | None = None
    if expand:
        chat = make_openai_client(settings.llm_base_url, settings.llm_api_key, settings.llm_timeout)
        clients.append(chat)
        expander = OpenAITopicExpander(chat, settings.llm_model, timeout=settings.llm_timeout)
    if embed and settings.embeddings_model:
        vectors = make_openai_client(settings.embeddings_base_url or settings.llm_base_url,
                                     settings.embeddings_api_key or settings.llm_api_key, settings.llm_timeout)
        clients.append(vectors)
        embedder = OpenAIEmbedder(vectors, settings.embeddings_model.strip(), timeout=settings.llm_timeout)

    async def close() -> None:
        for client in clients:
            await client.close()

    layer = SemanticLayer(db, expander=expander, embedder=embedder, cooldown=settings.llm_breaker_cooldown)
    return layer, close


def build_command_core(app: App) -> CommandCore:
    """The chat core every adapter talks to, wired from the app's services."""
    from bot.commands.command_core import CommandCore
    from bot.commands.services import CoreServices
    from bot.topics.topic_service import TopicMatcher

    services = CoreServices(db=app.db, matcher=TopicMatcher(), summaries=app.summaries, clock=app.clock,
                            default_timezone=app.settings.timezone, semantic=app.semantic,
                            digest_max_items=app.settings.digest_max_items,
                            tldr_deadline=app.settings.digest_tldr_deadline)
    return CommandCore(services)


def build_digest_runner(app: App, core: CommandCore, posters: Mapping[str, DigestPoster]) -> DigestRunner:
    """Digests share the chat core's services (one matcher, one summary cache) and post through `posters`."""
    from datetime import timedelta

    from bot.digests.digest_runner import DigestRunner, DigestSettings
    from storage.delivery_store import process_owner

    s = app.settings
    settings = DigestSettings(grace=timedelta(hours=s.digest_grace_hours), tldr_deadline=s.digest_tldr_deadline,
                              nothing_new=s.digest_nothing_new, lease_seconds=s.digest_lease_seconds)
    return DigestRunner(core.services, posters, owner=process_owner(), settings=settings)


def build_followup_runner(app: App, posters: Mapping[str, object]) -> FollowupRunner:
    """Follow-ups refresh through the app's own fetchers (one arXiv pace for ingestion and follow-ups) and reply
    through the posters that can reply in threads."""
    from bot.followups.followup_runner import FollowupRunner
    from storage.delivery_store import process_owner

    return FollowupRunner(app.db, app.ingestor, posters, owner=process_owner(), clock=app.clock,
                          default_timezone=app.settings.timezone)
