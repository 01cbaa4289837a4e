"""paper_judgements and feedback_models: what each channel (or person) judged relevant or not for a topic, and
the model learned from it

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_judgements",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(400), nullable=False),
        sa.Column("topic_key", sa.String(400), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("paper_id", sa.Integer(), sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        sa.Column("judged_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("scope", "topic_key", "paper_id", "user_id", name="uq_paper_judgements_vote"),
    )
    op.create_index("ix_paper_judgements_scope_topic", "paper_judgements", ["scope", "topic_key"])
    op.create_table(
        "feedback_models",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(400), nullable=False),
        sa.Column("topic_key", sa.String(400), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("judgements", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("scope", "topic_key", name="uq_feedback_models_scope_topic"),
    )


def downgrade() -> None:
    op.drop_table("feedback_models")
    op.drop_table("paper_judgements")
