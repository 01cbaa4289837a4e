"""paper_title_keys, paper_merges: every title a paper was seen under, and the records merged into another

A paper retitled on arXiv was two records: HF's page lists it under its first title (no id), arXiv's v2 under
the new one. The store now remembers every title key a record has been seen under, so a later sighting of any
of them finds it; this migration starts that memory with each stored paper's current key (the oldest record
under a key holds its claim, see `storage.models.PaperTitleKey`). `paper_merges` starts empty: records the
store merges from now on are written there.

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
        sa.Column("claim", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index("ix_paper_title_keys_paper_id", "paper_title_keys", ["paper_id"])
    op.create_table(
        "paper_merges",
        sa.Column("merged_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("paper_id", sa.Integer(), sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_paper_merges_paper_id", "paper_merges", ["paper_id"])
    op.execute("INSERT INTO paper_title_keys (title_key, paper_id, claim) "
               "SELECT title_key, MIN(id), true FROM papers GROUP BY title_key")
    op.execute("INSERT INTO paper_title_keys (title_key, paper_id, claim) "
               "SELECT p.title_key, p.id, false FROM papers p WHERE NOT EXISTS "
               "(SELECT 1 FROM paper_title_keys k WHERE k.title_key = p.title_key AND k.paper_id = p.id)")
    # After the fill: the index is built once, not kept current row by row.
    op.create_index("uq_paper_title_keys_claim", "paper_title_keys", ["title_key"], unique=True,
                    sqlite_where=sa.text("claim IS 1"), postgresql_where=sa.text("claim IS true"))


def downgrade() -> None:
    op.drop_table("paper_merges")
    op.drop_table("paper_title_keys")
