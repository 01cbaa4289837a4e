"""A small persistent cache for the optional semantic layer: topic expansions and embedding vectors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.savepoints import savepoint


class SemanticCacheEntry(Base):
    __tablename__ = "semantic_cache"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # topic_expansion | topic_embedding | paper_embedding
    key: Mapped[str] = mapped_column(String(400))
    model: Mapped[str] = mapped_column(String(200))
    payload: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("kind", "key", "model", name="uq_semantic_cache_key"),)


async def get_many(session: AsyncSession, kind: str, model: str, keys: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(keys), 500):
        chunk = list(keys[start:start + 500])
        stmt = select(SemanticCacheEntry.key, SemanticCacheEntry.payload).where(
            SemanticCacheEntry.kind == kind, SemanticCacheEntry.model == model, SemanticCacheEntry.key.in_(chunk))
        found.update({k: v for k, v in (await session.execute(stmt)).all()})
    return found


async def put(session: AsyncSession, kind: str, model: str, key: str, payload: Any) -> None:
    """Insert once; a concurrent writer that got there first wins and its value stands."""
    try:
        async with savepoint(session):
            session.add(SemanticCacheEntry(kind=kind, key=key, model=model, payload=payload))
    except IntegrityError:
        pass
