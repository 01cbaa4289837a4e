"""feedback_models.stamp: a token that changes whenever a model is refit, so a running bot keeps the models it
already parsed and reads again only those refit since

A digest run with a model on every subscription spent most of its extra time reading and decoding every model
(bench/digests_bench.py --models). Rows stored before this migration get an empty stamp: never cached, until
their next refit gives them one.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback_models") as batch:
        batch.add_column(sa.Column("stamp", sa.String(32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("feedback_models") as batch:
        batch.drop_column("stamp")
