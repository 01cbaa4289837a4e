"""papers: author lists stored as written, so full-text search finds every name

Author lists are JSON, and until this revision they were written with every non-ASCII character escaped
("Sch\\u00f6lkopf"): both databases index the authors as that JSON text, so no name with an accent, an umlaut or
a non-Latin script could be found. The engine now writes JSON as written (storage.database._json_text); this
migration rewrites the author lists stored before that hold an escape, so that SQLite's full-text triggers and
PostgreSQL's generated search vector index the names themselves. Characters that are only invisible (a soft
hyphen, a zero-width space…), which ingestion now drops, are dropped from those names too (the set is written
out here as it is at this revision).

Only rows whose author text holds an escape are read. Downgrading keeps the rewritten lists (they are the same
JSON values).

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_INVISIBLE_RE = re.compile("[\u00ad\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_PAGE = 500
_PAPERS = sa.table("papers", sa.column("id", sa.Integer), sa.column("authors", sa.JSON),
                   sa.column("updated_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    conn = op.get_bind()
    escaped = sa.cast(_PAPERS.c.authors, sa.Text).contains("\\u", autoescape=True)
    last = 0
    while True:
        page = conn.execute(sa.select(_PAPERS.c.id, _PAPERS.c.authors).where(escaped, _PAPERS.c.id > last)
                            .order_by(_PAPERS.c.id).limit(_PAGE)).all()
        if not page:
            return
        last = page[-1][0]
        changes = [{"pk": pk, "new_authors": [_INVISIBLE_RE.sub("", name) or name if isinstance(name, str) else name
                                              for name in authors]}
                   for pk, authors in page if isinstance(authors, list)]
        if changes:  # written back through the engine's serializer: as written, no escapes
            conn.execute(sa.update(_PAPERS).where(_PAPERS.c.id == sa.bindparam("pk"))
                         .values(authors=sa.bindparam("new_authors"), updated_at=datetime.now(UTC)), changes)


def downgrade() -> None:
    pass  # see the docstring
