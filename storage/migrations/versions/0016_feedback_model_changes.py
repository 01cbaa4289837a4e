"""feedback_model_generation and feedback_model_changes: every refit or removal of a learned model is numbered in
commit order and its scope noted, so a running bot asks which scopes changed since its last digest run instead
of reading every model's stamp each run (bench/digests_bench.py --models)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    generation = op.create_table(
        "feedback_model_generation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(generation, [{"id": 1, "value": 0}])
    op.create_table(
        "feedback_model_changes",
        sa.Column("generation", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("scope", sa.String(400), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feedback_model_changes")
    op.drop_table("feedback_model_generation")
