"""Who asked to be mentioned where: the opt-in behind "→ @person" on channel digest items.

One row per (platform, workspace, channel, user): opting in in #ml does not make the bot mention you in #random.
A person's own DM digest is a `destinations` row (with `user_id`), so it shares the channels' delivery claims.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class MentionOptIn(Base):
    __tablename__ = "mention_optins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination_key: Mapped[str] = mapped_column(String(400))  # the channel: platform:workspace:channel
    platform: Mapped[str] = mapped_column(String(32))
    workspace: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("destination_key", "user_id", name="uq_mention_optins_channel_user"),
        Index("ix_mention_optins_destination", "destination_key"),
    )
