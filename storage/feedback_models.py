"""Judgements ("relevant" / "not for us") per scope, paper, topic and person, and the model each (scope, topic)
learned from them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


def new_stamp() -> str:
    return uuid.uuid4().hex

NO_TOPIC = "none"  # a paper listed for its upvotes, judged without a topic: a candidate for "more like this"


class PaperJudgement(Base):
    """One person's latest verdict on one paper for one topic in one scope (a second click replaces it)."""

    __tablename__ = "paper_judgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(400))  # Scope.key: channel:… or user:…
    topic_key: Mapped[str] = mapped_column(String(400))  # NO_TOPIC when the paper was listed without one
    topic: Mapped[str] = mapped_column(String(200))
    paper_id: Mapped[int] = mapped_column(Integer, ForeignKey("papers.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(128))
    relevant: Mapped[bool] = mapped_column(Boolean)
    judged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("scope", "topic_key", "paper_id", "user_id", name="uq_paper_judgements_vote"),
        Index("ix_paper_judgements_scope_topic", "scope", "topic_key"),
    )


class FeedbackModel(Base):
    """The fitted model of one (scope, topic), refit after every judgement; absent means the plain matcher."""

    __tablename__ = "feedback_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(400))
    topic_key: Mapped[str] = mapped_column(String(400))
    topic: Mapped[str] = mapped_column(String(200))
    judgements: Mapped[int] = mapped_column(Integer)
    model: Mapped[dict[str, Any]] = mapped_column(JSON)
    # New on every refit: a process keeps the models it parsed while their stamps stay (empty: never kept).
    stamp: Mapped[str] = mapped_column(String(32), default=new_stamp, server_default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("scope", "topic_key", name="uq_feedback_models_scope_topic"),)


class ModelGeneration(Base):
    """How many times any model was refit or removed: one row, which every model write bumps before it writes.

    The bump locks the row until the writer commits, so generations are handed out in commit order: a reader that
    sees generation G knows every change up to G is committed, and asks only `ModelChange` which scopes changed
    since the generation it last saw, instead of reading every model's stamp each digest run."""

    __tablename__ = "feedback_model_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # always 1
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class ModelChange(Base):
    """Which scope's models changed at one generation; only the newest few thousand are kept."""

    __tablename__ = "feedback_model_changes"

    generation: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    scope: Mapped[str] = mapped_column(String(400))
