"""papers: titles and abstracts without invisible characters, and arXiv RSS name suffixes joined to their author

Ingestion now drops the characters that are only invisible (soft hyphen, zero-width space, word joiner and
invisible operators, byte order mark, bidi controls): a soft hyphen in "Atten\\u00adtion" hid the paper from
topic matching and full-text search. This migration rewrites the titles and abstracts stored before that
contain any (their search helpers with them; their title keys never counted them). The set is written out
here as it is at this revision.

arXiv's daily feeds list authors in one comma-separated line, and ", Jr." was read as an author of its own
until the parser was fixed: in papers seen in those feeds, an author that is exactly a generational suffix
(Jr., Jr, Sr., Sr, II, III, IV) joins the one before it ("Martin Luther King, Jr."), as the parser now reads it.

Only rows holding such characters or such an author are read. Downgrading keeps the cleaned text.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_INVISIBLE = ("\u00ad\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064"
              "\u2066\u2067\u2068\u2069\u206a\u206b\u206c\u206d\u206e\u206f\ufeff")
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
_SUFFIXES = frozenset({"Jr.", "Jr", "Sr.", "Sr", "II", "III", "IV"})
_RSS_SOURCE = "arxiv-rss"
_PAGE = 500

_PAPERS = sa.table("papers", sa.column("id", sa.Integer), sa.column("title", sa.Text),
                   sa.column("abstract", sa.Text), sa.column("compounds", sa.Text), sa.column("authors", sa.JSON),
                   sa.column("author_count", sa.Integer), sa.column("sources", sa.JSON),
                   sa.column("updated_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    conn = op.get_bind()
    _clean_text(conn)
    _join_name_suffixes(conn)


def downgrade() -> None:
    pass  # see the docstring


def _holds_invisible(conn: Connection, column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """Whether the text holds one of the characters, tested in the database (one pass over the column)."""
    if conn.dialect.name == "postgresql":
        return column.op("~")(f"[{_INVISIBLE}]")
    return column.op("GLOB")(f"*[{_INVISIBLE}]*")


def _pages(conn: Connection, columns: list[Any], where: sa.ColumnElement[bool]) -> Iterator[list[tuple[Any, ...]]]:
    """The matching rows (id first), a page at a time: a page is read whole before the caller writes to it."""
    last = 0
    while True:
        page = [tuple(row) for row in conn.execute(
            sa.select(_PAPERS.c.id, *columns).where(where, _PAPERS.c.id > last).order_by(_PAPERS.c.id).limit(_PAGE))]
        if not page:
            return
        yield page
        last = page[-1][0]


def _clean_text(conn: Connection) -> None:
    from bot.compounds import joined_compounds  # the store's search helper, as it computes it today

    where = sa.or_(_holds_invisible(conn, _PAPERS.c.title), _holds_invisible(conn, _PAPERS.c.abstract))
    for page in _pages(conn, [_PAPERS.c.title, _PAPERS.c.abstract], where):
        changes = []
        for pk, title, abstract in page:  # every row matched: it holds such a character
            # A text made only of such characters keeps them: an empty title or abstract names nothing.
            new_title = _INVISIBLE_RE.sub("", title) or title
            new_abstract = _INVISIBLE_RE.sub("", abstract) or abstract
            changes.append({"pk": pk, "new_title": new_title, "new_abstract": new_abstract,
                            "new_compounds": " ".join(joined_compounds(f"{new_title} {new_abstract}"))})
        conn.execute(sa.update(_PAPERS).where(_PAPERS.c.id == sa.bindparam("pk"))
                     .values(title=sa.bindparam("new_title"), abstract=sa.bindparam("new_abstract"),
                             compounds=sa.bindparam("new_compounds"), updated_at=datetime.now(UTC)), changes)


def _join_name_suffixes(conn: Connection) -> None:
    authors_text = sa.cast(_PAPERS.c.authors, sa.Text)
    where = sa.and_(sa.cast(_PAPERS.c.sources, sa.Text).like(f"%{_RSS_SOURCE}%"),
                    sa.or_(authors_text.like('%"Jr%'), authors_text.like('%"Sr%'), authors_text.like('%"I%')))
    for page in _pages(conn, [_PAPERS.c.authors], where):
        changes = []
        for pk, authors in page:
            if not isinstance(authors, list):
                continue
            names: list[str] = []
            for name in authors:
                if names and name in _SUFFIXES:
                    names[-1] = f"{names[-1]}, {name}"
                else:
                    names.append(name)
            if names != authors:
                changes.append({"pk": pk, "new_authors": names, "new_count": len(names)})
        if changes:
            conn.execute(sa.update(_PAPERS).where(_PAPERS.c.id == sa.bindparam("pk"))
                         .values(authors=sa.bindparam("new_authors"), author_count=sa.bindparam("new_count"),
                                 updated_at=datetime.now(UTC)), changes)
