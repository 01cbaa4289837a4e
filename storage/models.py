"""The papers table. Every schema change goes through an Alembic migration in `storage/migrations/versions`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base

__all__ = ["Base", "Paper"]


class Paper(Base):
    """One row per paper, whatever the source or version (see `bot.papers` for the identity rules)."""

    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    arxiv_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    title_key: Mapped[str] = mapped_column(Text, index=True)
    abstract: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str] | None] = mapped_column(JSON)
    author_count: Mapped[int | None] = mapped_column(Integer)
    organization: Mapped[str | None] = mapped_column(Text)
    published_on: Mapped[date | None] = mapped_column(Date)
    listed_on: Mapped[date | None] = mapped_column(Date, index=True)
    upvotes: Mapped[int | None] = mapped_column(Integer)
    compounds: Mapped[str] = mapped_column(Text, server_default="")  # full-text helper, see 0003_topics
    sources: Mapped[list[str]] = mapped_column(JSON)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # A title-only record is unique by its title; records with ids may share a title (different papers).
        Index(
            "uq_papers_title_key_without_id", "title_key", unique=True,
            sqlite_where=arxiv_id.is_(None), postgresql_where=arxiv_id.is_(None),
        ),
    )

