"""paper_title_keys, paper_merges: the titles a paper was seen under before, and the records merged into another

A paper retitled on arXiv was two records: HF's page lists it under its first title (no id), arXiv's v2 under
the new one. The store now remembers the title keys a record was seen under other than its current one
(aliases, see `storage.models.PaperTitleKey`), so a later sighting of any of them finds it. Nothing is filled:
a stored paper was only ever known by its current key, which `papers.title_key` holds. `paper_merges` starts
empty: records the store merges from now on are written there.

Downgrading drops both tables; the papers themselves are untouched.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_title_keys",
        sa.Column("title_key", sa.Text(), primary_key=True),
        sa.Column("paper_id", sa.Integer(), sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_paper_title_keys_paper_id", "paper_title_keys", ["paper_id"])
    op.create_table(
        "paper_merges",
        sa.Column("merged_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("paper_id", sa.Integer(), sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_paper_merges_paper_id", "paper_merges", ["paper_id"])


def downgrade() -> None:
    op.drop_table("paper_merges")
    op.drop_table("paper_title_keys")
