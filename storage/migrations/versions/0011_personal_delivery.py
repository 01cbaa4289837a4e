"""personal delivery: destinations.user_id (a person's digest by direct message) and mention_optins

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("destinations") as batch:
        batch.add_column(sa.Column("user_id", sa.String(128), nullable=True))
    op.create_table(
        "mention_optins",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("destination_key", sa.String(400), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("destination_key", "user_id", name="uq_mention_optins_channel_user"),
    )
    op.create_index("ix_mention_optins_destination", "mention_optins", ["destination_key"])


def downgrade() -> None:
    op.drop_table("mention_optins")
    with op.batch_alter_table("destinations") as batch:
        batch.drop_column("user_id")
