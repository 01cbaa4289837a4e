"""Follow-ups: what each posted paper looked like when it was posted, what happened to it since, and which of
those events each digest thread was told about.

Three guarantees rest on unique constraints: an event is detected once per paper (`paper_id`, `key`), a thread
hears about an event at most once (`destination_key`, `thread_key`, `event_id`), and a thread gets at most one
follow-up reply per day (`claim_key`, `day` — the same claim/lease/fencing scheme as digest deliveries).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.delivery_models import UtcDateTime


class FollowupBaseline(Base):
    """A posted paper as readers first saw it: the yardstick for "new version", "code released" and "rising".

    Written once, the first time a follow-up run sees the paper in a digest (before it refreshes anything);
    the text fields move on with each announced version, so v3 is compared with v2, not with v1. `upvotes` and
    `day_rank` never move: rising is measured against the moment of posting."""

    __tablename__ = "followup_baselines"

    paper_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    abstract_chars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int | None] = mapped_column(Integer)
    code_url: Mapped[str | None] = mapped_column(String(300))
    upvotes: Mapped[int | None] = mapped_column(Integer)
    day_rank: Mapped[int | None] = mapped_column(Integer)  # its place by upvotes among its day's papers
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class FollowupEvent(Base):
    """One thing that happened to a posted paper: a new version, code released, rising."""

    __tablename__ = "followup_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    paper_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # version | code | rising
    key: Mapped[str] = mapped_column(String(40))  # version:3 | code | rising
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    day: Mapped[date] = mapped_column(Date)  # the follow-up day it was detected on
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())

    __table_args__ = (
        UniqueConstraint("paper_id", "key", name="uq_followup_events_paper_key"),
        Index("ix_followup_events_day", "day"),
    )


class FollowupClaim(Base):
    """One unit of follow-up work per day, claimed like a digest delivery: a thread's reply
    (`claim_key` = destination|thread) or the day's refresh of the sources (`claim_key` = "refresh")."""

    __tablename__ = "followup_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_key: Mapped[str] = mapped_column(String(620))
    day: Mapped[date] = mapped_column(Date)
    destination_key: Mapped[str | None] = mapped_column(String(400))
    thread_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # claimed | posted | failed
    owner: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    message_ref: Mapped[str | None] = mapped_column(String(200))
    event_ids: Mapped[list[int] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())

    __table_args__ = (
        UniqueConstraint("claim_key", "day", name="uq_followup_claims_key_day"),
        Index("ix_followup_claims_status_next", "status", "next_attempt_at"),
    )


class FollowupSent(Base):
    """An event told in a thread: never again in that thread."""

    __tablename__ = "followup_sent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination_key: Mapped[str] = mapped_column(String(400))
    thread_key: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())

    __table_args__ = (
        UniqueConstraint("destination_key", "thread_key", "event_id", name="uq_followup_sent_thread_event"),
    )


class FollowupChannel(Base):
    """`/papers followups on|off`; a channel without a row has follow-ups on."""

    __tablename__ = "followup_channels"

    destination_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
