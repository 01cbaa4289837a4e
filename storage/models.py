"""The papers tables. Every schema change goes through an Alembic migration in `storage/migrations/versions`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base

__all__ = ["Base", "Paper", "PaperMerge", "PaperTitleKey"]


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



class PaperTitleKey(Base):
    """A title key a paper was seen under other than its current `papers.title_key` (an alias): a paper retitled on
    arXiv is still found by the title HF lists it under, whichever source came first. Written only when a record's
    title changes or a merge brings it another record's key, so the ingestion of new papers writes nothing here.

    No claim or unique key per title: two ingests introducing one title at once are not stopped here. Two
    title-only records collide on `uq_papers_title_key_without_id` as before; a title-only record and a paper
    with an id made known under the same title (as its title, or as an alias) at the same moment would collide
    nowhere: only a second indexed write for every new paper would make them (what made ingestion 70 % slower).
    The store takes an advisory lock per title key instead, on PostgreSQL (one statement per chunk, no write;
    see `storage.paper_store`), so such ingests take turns; records an older version left apart are merged by
    the next sighting of the title, with an id or not."""

    __tablename__ = "paper_title_keys"

    title_key: Mapped[str] = mapped_column(Text, primary_key=True)
    paper_id: Mapped[int] = mapped_column(Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_paper_title_keys_paper_id", "paper_id"),)


class PaperMerge(Base):
    """A record merged into another (one paper seen as two): its number, typed from an old digest, still finds
    the paper, and on SQLite (which numbers a new row one above the highest) no new paper is given it."""

    __tablename__ = "paper_merges"

    merged_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    paper_id: Mapped[int] = mapped_column(Integer, ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
