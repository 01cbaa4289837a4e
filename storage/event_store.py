"""Platform events already handled, shared by every bot process: the database decides who handles a retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Integer, String, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.database import Database


class ProcessedEvent(Base):
    __tablename__ = "processed_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


async def first_time(db: Database, key: str, *, keep: timedelta = timedelta(days=1)) -> bool:
    """True for the one process that records `key` first; old keys are pruned as we go."""
    insert = pg_insert if db.is_postgres else sqlite_insert
    now = datetime.now(UTC)
    async with db.session() as session:
        result = await session.execute(
            insert(ProcessedEvent).values(key=key[:300], created_at=now).on_conflict_do_nothing(
                index_elements=["key"]))
        if now.second == 0:  # about once a minute of traffic
            await session.execute(delete(ProcessedEvent).where(ProcessedEvent.created_at < now - keep))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_attempt(db: Database, key: str, now: datetime, *, within: timedelta = timedelta(0)) -> datetime | None:
    """Record an attempt at `key` (the day's Hugging Face fetch) at `now`, unless one was recorded less than
    `within` before: then its time, and nothing is written. None means this call recorded it and may go ahead.

    One atomic upsert, so of several processes starting together exactly one goes ahead; the row outlives the
    process, so a restart sees its predecessor's attempt. Stored beside the handled events (one key, one time,
    pruned after a day by `first_time`)."""
    insert = pg_insert if db.is_postgres else sqlite_insert
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    key = key[:300]
    async with db.session() as session:
        stmt = insert(ProcessedEvent).values(key=key, created_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"created_at": stmt.excluded.created_at},
                                          where=ProcessedEvent.created_at <= now - within)
        if (await session.execute(stmt.returning(ProcessedEvent.id))).scalar_one_or_none() is not None:
            return None
        earlier = (await session.execute(select(ProcessedEvent.created_at)
                                         .where(ProcessedEvent.key == key))).scalar_one()
    return earlier.replace(tzinfo=UTC) if earlier.tzinfo is None else earlier.astimezone(UTC)
