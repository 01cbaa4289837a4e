"""papers: PostgreSQL's full-text index reads words without their accents, as SQLite's does

SQLite's index folds accents (its tokenizer's remove_diacritics): "Schrodinger" finds "Schrödinger", "Lopez" finds
"López". PostgreSQL's generated search vector kept them, and its `unaccent` extension needs a superuser to
install, so the same searches found nothing there. The vector is now built from the text with the combining marks
after a Latin letter removed: decomposed (NFD), those marks dropped, composed again (NFC). Only built-in immutable
functions do it, so an ordinary user can migrate, and every writer of a paper gets it without doing anything.
`storage.search_index.fold_accents` folds the words of a query the same way (on both engines), and other scripts
keep their marks, as SQLite keeps them: both engines answer alike. A text with no accented Latin letter (U+00C0 to
U+024F, U+1E00 to U+1EFF) nor combining mark is indexed as it is: folding costs only where it changes something.

Rebuilding the column rewrites the papers table once. Downgrading restores the vector without folding.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def _folded(column: str) -> str:
    """The text folded; a text without an accented Latin letter or a combining mark as it is, unnormalised (the
    common case: an ASCII abstract costs a length comparison; normalising took as long as indexing the text)."""
    text = f"coalesce({column}, '')"
    return (f"CASE WHEN octet_length({text}) = char_length({text}) "
            f"OR {text} !~ '[\\u00c0-\\u024f\\u1e00-\\u1eff\\u0300-\\u036f]' THEN {text} "
            f"ELSE normalize(regexp_replace(normalize({text}, NFD), '([A-Za-z])[\\u0300-\\u036f]+', '\\1', 'g'), NFC) "
            "END")


def _vector(fold: bool) -> str:
    def read(column: str) -> str:
        return _folded(column) if fold else f"coalesce({column}, '')"

    return (f"setweight(to_tsvector('english', {read('title')}), 'A') || "
            f"setweight(to_tsvector('english', {read('abstract')}), 'B') || "
            f"setweight(to_tsvector('english', {read('compounds')}), 'B') || "
            f"setweight(to_tsvector('simple', {read('authors::text')}), 'C')")


def _rebuild(fold: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's tokenizer folds accents itself (0003: remove_diacritics 2)
    op.execute("DROP INDEX IF EXISTS ix_papers_search_vector")
    op.execute("ALTER TABLE papers DROP COLUMN IF EXISTS search_vector")
    op.execute(f"ALTER TABLE papers ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_vector(fold)}) STORED")
    op.execute("CREATE INDEX ix_papers_search_vector ON papers USING gin (search_vector)")


def upgrade() -> None:
    _rebuild(fold=True)


def downgrade() -> None:
    _rebuild(fold=False)
