"""destinations (channels with digest settings) and posted messages (which papers each listed)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "destinations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False, unique=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("digest_time", sa.String(5), nullable=False, server_default="09:00"),
        sa.Column("digest_enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("digest_days", sa.String(32), nullable=False, server_default="mon-fri"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "posted_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("destination_key", sa.String(400), nullable=False),
        sa.Column("message_ref", sa.String(200), nullable=False),
        sa.Column("thread_ref", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("paper_ids", sa.JSON(), nullable=False),
        sa.Column("digest_day", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("destination_key", "message_ref", name="uq_posted_messages_ref"),
    )
    op.create_index("ix_posted_messages_thread", "posted_messages", ["destination_key", "thread_ref"])
    # "Today" and digests ask for a paper's day (listing day, else publication day) all the time.
    op.create_index("ix_papers_day", "papers", [sa.text("coalesce(listed_on, published_on)")])


def downgrade() -> None:
    op.drop_index("ix_papers_day", table_name="papers")
    op.drop_table("posted_messages")
    op.drop_table("destinations")
