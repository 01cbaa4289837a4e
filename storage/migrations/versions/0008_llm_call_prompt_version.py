"""llm_calls remember the prompt version: a reply rejected for a paper is not asked for again until a cool-down

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("llm_calls") as batch:
        batch.add_column(sa.Column("prompt_version", sa.String(32), nullable=False, server_default=""))
    op.create_index("ix_llm_calls_paper_kind", "llm_calls", ["paper_id", "kind", "model", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_llm_calls_paper_kind", "llm_calls")
    with op.batch_alter_table("llm_calls") as batch:
        batch.drop_column("prompt_version")
