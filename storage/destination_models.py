"""Channels Paperboy posts to, with their digest settings, and the messages it posted there.

A posted message remembers which papers it listed, in order, so "summarize 3" in its thread means the
third paper of that message — also after a restart, and on whichever bot process gets the reply.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, Index, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class Destination(Base):
    __tablename__ = "destinations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)  # platform:workspace:channel
    platform: Mapped[str] = mapped_column(String(32))
    workspace: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(128))
    # Set for a person's own digest by direct message (key platform:workspace:@user); None for a channel.
    user_id: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))  # None: the configured default
    digest_time: Mapped[str] = mapped_column(String(5), default="09:00")  # HH:MM local time
    digest_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    digest_days: Mapped[str] = mapped_column(String(32), default="mon-fri")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def user(self) -> str | None:
        """As on the frozen `bot.destination.Destination`: whose DM digest this is (None: a channel's)."""
        return self.user_id


class PostedMessage(Base):
    __tablename__ = "posted_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination_key: Mapped[str] = mapped_column(String(400))
    message_ref: Mapped[str] = mapped_column(String(200))  # Slack ts, Discord message id, console number
    thread_ref: Mapped[str | None] = mapped_column(String(200))  # the thread it opened, when different
    kind: Mapped[str] = mapped_column(String(32))  # digest | list | paper
    paper_ids: Mapped[list[int]] = mapped_column(JSON)
    digest_day: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("destination_key", "message_ref", name="uq_posted_messages_ref"),
        Index("ix_posted_messages_thread", "destination_key", "thread_ref"),
    )
