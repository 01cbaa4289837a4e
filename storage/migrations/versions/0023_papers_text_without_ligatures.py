"""papers: stored titles, abstracts and author names without typographic ligatures

Ingestion has stored the letters a ligature stands for since it cleans text with
`bot.ingestion.paper_checks.clean_text` ("ﬁne-tuning", as text copied from a PDF carries it, is "fine-tuning"):
both engines index the stored word, and nobody types "ﬁ". Papers stored before kept their ligatures, and were
found by neither "fine-tuning" nor "efficient". This migration writes their titles, abstracts and author names
as ingestion now would (the ligatures are written out here as they are at this revision; the other characters
`clean_text` drops were dropped from stored papers by 0020 and 0021), and their search helpers with them. Their
title keys already read ligatures as letters (NFKC), so no paper changes identity. SQLite's update trigger and
PostgreSQL's generated search vector index the new text.

Only rows holding a ligature are read. Downgrading keeps the cleaned text.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-29
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st",
              "\ufb06": "st"}
_TABLE = str.maketrans(_LIGATURES)
_PAGE = 500

_PAPERS = sa.table("papers", sa.column("id", sa.Integer), sa.column("title", sa.Text),
                   sa.column("abstract", sa.Text), sa.column("compounds", sa.Text), sa.column("authors", sa.JSON),
                   sa.column("updated_at", sa.DateTime(timezone=True)))


def _holds_ligature(conn: Connection, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """Whether the text holds a ligature, tested in the database (one pass over the column)."""
    chars = "".join(_LIGATURES)
    if conn.dialect.name == "postgresql":
        return column.op("~")(f"[{chars}]")
    return column.op("GLOB")(f"*[{chars}]*")


def _plain(value: Any) -> Any:
    return value.translate(_TABLE) if isinstance(value, str) else value


def upgrade() -> None:
    from bot.compounds import joined_compounds  # the store's search helper, as it computes it today

    conn = op.get_bind()
    authors_text = sa.cast(_PAPERS.c.authors, sa.Text)
    where = sa.or_(_holds_ligature(conn, _PAPERS.c.title), _holds_ligature(conn, _PAPERS.c.abstract),
                   _holds_ligature(conn, authors_text))
    last = 0
    while True:
        page = conn.execute(sa.select(_PAPERS.c.id, _PAPERS.c.title, _PAPERS.c.abstract, _PAPERS.c.authors)
                            .where(where, _PAPERS.c.id > last).order_by(_PAPERS.c.id).limit(_PAGE)).all()
        if not page:
            return
        last = page[-1][0]
        with_authors, without = [], []  # an absent author list is left as it was stored
        for pk, title, abstract, authors in page:
            new_title, new_abstract = _plain(title), _plain(abstract)
            change = {"pk": pk, "new_title": new_title, "new_abstract": new_abstract,
                      "new_compounds": " ".join(joined_compounds(f"{new_title} {new_abstract}"))}
            if isinstance(authors, list):
                with_authors.append({**change, "new_authors": [_plain(a) for a in authors]})
            else:
                without.append(change)
        text_values = {"title": sa.bindparam("new_title"), "abstract": sa.bindparam("new_abstract"),
                       "compounds": sa.bindparam("new_compounds"), "updated_at": datetime.now(UTC)}
        by_id = sa.update(_PAPERS).where(_PAPERS.c.id == sa.bindparam("pk"))
        if with_authors:
            conn.execute(by_id.values(**text_values, authors=sa.bindparam("new_authors")), with_authors)
        if without:
            conn.execute(by_id.values(**text_values), without)


def downgrade() -> None:
    pass  # see the docstring
