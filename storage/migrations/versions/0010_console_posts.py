"""console_posts: the console's delivery log, so a digest printed by a process killed before it recorded the
post is found by the next attempt instead of being printed again

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_posts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("destination_key", sa.String(400), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("tag", name="uq_console_posts_tag"),
    )
    op.create_index("ix_console_posts_destination", "console_posts", ["destination_key", "number"])


def downgrade() -> None:
    op.drop_table("console_posts")
