"""A day of papers for personal-topic tests: twelve on diffusion (the channel's topic, upvoted) and three on graph
neural networks (someone's own topic, few upvotes), so the channel's list of ten never contains the GNN ones."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.papers import ParsedPaper
from bot.topics.subscriptions import Scope, subscribe
from storage.database import Database
from storage.paper_store import store_papers

DAY1 = date(2026, 4, 20)  # Monday
DAY2 = date(2026, 4, 21)
GNN = "graph neural networks"
DIFFUSION = "diffusion models"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC)


def gnn_papers(day: date, n: int = 3, start: int = 0) -> list[ParsedPaper]:
    return [ParsedPaper(title=f"Graph neural networks for molecules, study {day.day}-{i + start}",
                        abstract="We propose a graph neural network for molecular property prediction; graph "
                                 "neural networks beat the baselines.",
                        source="hf-api", arxiv_id=f"2604.{day.day:02d}{i + start:03d}", listed_on=day, upvotes=1)
            for i in range(n)]


def diffusion_papers(day: date, n: int = 12) -> list[ParsedPaper]:
    return [ParsedPaper(title=f"Diffusion models for image synthesis, part {day.day}-{i}",
                        abstract="We train diffusion models for image synthesis; the diffusion model improves FID.",
                        source="hf-api", arxiv_id=f"2604.{day.day:02d}{500 + i:03d}", listed_on=day, upvotes=50 + i)
            for i in range(n)]


async def store_day(db: Database, day: date, *, gnn: int = 3, diffusion: int = 12, start: int = 0) -> None:
    async with db.session() as session:
        await store_papers(session, gnn_papers(day, gnn, start) + diffusion_papers(day, diffusion))


async def follow(db: Database, scope: Scope, topic: str) -> None:
    async with db.session() as session:
        await subscribe(session, scope, topic)
