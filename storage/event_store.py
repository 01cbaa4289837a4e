"""Platform events already handled, shared by every bot process: the database decides who handles a retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Integer, String, delete, func
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
