"""papers: SQLite's full-text index is filled in bulk by the paper store instead of a trigger per row

A per-row trigger made FTS5 indexing most of an ingest's time (2.3 s instead of 1.2 s per 10,000 papers);
`storage.paper_store.store_papers`, the only code that inserts papers, now indexes each chunk of new papers
with one INSERT … SELECT. The update and delete triggers stay: those writes are few. PostgreSQL's tsvector is
a generated column and needs nothing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS papers_fts_insert")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("""CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
            INSERT INTO papers_fts(rowid, title, abstract, compounds, authors)
            VALUES (new.id, new.title, new.abstract, new.compounds, new.authors);
        END""")
        op.execute("INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')")
