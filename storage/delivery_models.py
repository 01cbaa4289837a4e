"""One delivery record per (destination, digest day): the claim that makes each digest post exactly once.

The unique constraint is the whole guarantee for a first post — whichever process inserts the row owns the
digest; everything after that (takeover of a dead owner's lease, retries after a failure) is a compare-and-set
on `attempts`, which doubles as the fencing token of the current claim.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Dialect, Index, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.base import Base

CLAIMED = "claimed"
POSTED = "posted"
FAILED = "failed"
ERROR_MAX_CHARS = 300


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on both backends.

    SQLite keeps no offset (it would store the wall time of whatever zone came in and hand back a naive value),
    so values are converted to UTC before binding and tagged UTC after loading; that also keeps SQLite's text
    comparisons (`next_attempt_at <= :now`) correct. A naive value is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        utc = aware.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination_key: Mapped[str] = mapped_column(String(400))
    digest_day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # claimed | posted | failed
    owner: Mapped[str | None] = mapped_column(String(200))  # the process that holds (or last held) the claim
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims made so far; the current claim's token
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_MAX_CHARS))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    posted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    message_ref: Mapped[str | None] = mapped_column(String(200))
    paper_ids: Mapped[list[int] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())

    __table_args__ = (
        UniqueConstraint("destination_key", "digest_day", name="uq_deliveries_destination_day"),
        # The scheduler's "what is due for a retry or orphaned" scan.
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )


class ConsolePost(Base):
    """The console's own delivery log: each digest it printed, under the tag of the delivery it belongs to.

    A real platform keeps its channel history and can be asked "is this digest there already?"; the console
    prints to a terminal that forgets, so this table is its history. It is written (and committed) before the
    digest is printed, apart from the delivery's completion, so a process killed between printing and
    completing leaves the evidence the next claimer needs to complete instead of printing again."""

    __tablename__ = "console_posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination_key: Mapped[str] = mapped_column(String(400))
    number: Mapped[int] = mapped_column(Integer)  # the console message number (#N) the digest was printed as
    tag: Mapped[str] = mapped_column(String(100), unique=True)
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())

    __table_args__ = (Index("ix_console_posts_destination", "destination_key", "number"),)
