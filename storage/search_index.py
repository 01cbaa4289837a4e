"""Candidate retrieval with each database's own full-text engine: SQLite FTS5, PostgreSQL tsvector (GIN).

The engines only narrow 100,000 papers down to the few hundred worth scoring; the precise matching (phrases,
acronym case, title vs abstract, explanations) happens in `bot.topics.matcher`, identically on both databases.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

Phrase = Sequence[str]
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_VOWELS = frozenset("aeiouy")  # the English (Snowball) stemmer's
# Combining marks on a Latin letter: what SQLite's tokenizer drops (remove_diacritics) and PostgreSQL's search vector
# drops since migration 0022, with this same pattern. Letters of other scripts ("ά", "й") keep theirs on both.
_LATIN_MARKS_RE = re.compile("([A-Za-z])[\u0300-\u036f]+")
_FOLDABLE_RE = re.compile("[\u00c0-\u024f\u1e00-\u1eff\u0300-\u036f]")  # the texts 0022 folds; others stay


def fold_accents(text: str) -> str:
    """"Schrödinger" as "Schrodinger", "López" as "Lopez": the text as both engines index it (see migration 0022),
    so that people who type a name without its accents find it on PostgreSQL as they do on SQLite."""
    if text.isascii() or not _FOLDABLE_RE.search(text):
        return text
    return unicodedata.normalize("NFC", _LATIN_MARKS_RE.sub(r"\1", unicodedata.normalize("NFD", text)))


def _words(phrase: Phrase) -> list[str]:
    """The phrase's words as both engines index them: compatibility forms are the plain letters (NFKC), so "ﬁne"
    copied from a PDF (its "fi" ligature) and a fullwidth "ＬｏＲＡ" are searched as "fine" and "lora"; accents on
    Latin letters do not count ("schrodinger" for "Schrödinger")."""
    return [w.lower() for part in phrase for w in _WORD_RE.findall(fold_accents(unicodedata.normalize("NFKC", part)))]


def _sqlite_phrase(phrase: Phrase) -> str | None:
    words = _words(phrase)
    return '"' + " ".join(words) + '"' if words else None


def _pg_phrase(phrase: Phrase) -> str | None:
    words = _words(phrase)
    return "(" + " <-> ".join(_pg_word(w) for w in words) + ")" if words else None


def _pg_word(word: str) -> str:
    """A word for PostgreSQL, with its plural where the English stemmer keeps the plural's s: right after a vowel,
    or in a word with no vowel ("gpus", "llms", "mdps" stay so), so asking for "gpu" missed papers writing only
    "GPUs" (SQLite's Porter stemmer drops it). Other words stem alike with or without it."""
    if word.endswith("s") or not word.isalpha() or not (word[-1] in _VOWELS or not _VOWELS & set(word)):
        return word
    return f"({word} | {word}s)"


def build_query(dialect: str, any_of: Sequence[Phrase], all_of: Sequence[Sequence[Phrase]] = ()) -> str | None:
    """`any_of` phrases OR'ed, plus one branch requiring every group of `all_of` (each group OR'ed inside)."""
    render = _sqlite_phrase if dialect == "sqlite" else _pg_phrase
    or_, and_ = (" OR ", " AND ") if dialect == "sqlite" else (" | ", " & ")
    branches = [p for p in (render(ph) for ph in any_of) if p]
    groups = []
    for group in all_of:
        alternatives = [p for p in (render(ph) for ph in group) if p]
        if alternatives:
            groups.append("(" + or_.join(alternatives) + ")")
    if len(groups) > 1:
        branches.append("(" + and_.join(groups) + ")")
    if not branches:
        return None
    joined = or_.join(dict.fromkeys(branches))
    return "{title abstract compounds} : (" + joined + ")" if dialect == "sqlite" else joined


@dataclass(frozen=True)
class AllWords:
    """Free-text search on PostgreSQL: every word, each as the English stemmer reads titles and abstracts OR as
    the `simple` configuration reads author names (unstemmed). One English query missed authors whose names the
    stemmer changes: "Manning" is asked as "man", "Schmidhuber" as "schmidhub", and neither is an author lexeme."""

    words: tuple[str, ...]

    def sql(self, params: dict[str, object]) -> str:
        """The tsquery expression, its words added to `params`. A word the English configuration drops (a stop
        word) is left out, as one English query left it out, rather than required among the author names."""
        parts = []
        for n, word in enumerate(self.words):
            params[f"w{n}"], params[f"s{n}"] = _pg_word(word), word
            english = f"to_tsquery('english', :w{n})"
            parts.append(f"(CASE WHEN numnode({english}) = 0 THEN {english} "
                         f"ELSE {english} || to_tsquery('simple', :s{n}) END)")
        return " && ".join(parts)


def build_all_words_query(dialect: str, words: Sequence[str]) -> str | AllWords | None:
    """Free-text search: every word somewhere in title, abstract or authors."""
    cleaned = [w for w in _words(words)]
    if not cleaned:
        return None
    if dialect == "sqlite":
        return " AND ".join(f'"{w}"' for w in cleaned)
    return AllWords(tuple(cleaned))


async def candidate_ids(
    session: AsyncSession,
    dialect: str,
    query: str | AllWords,
    *,
    since: date | None = None,
    until: date | None = None,
    min_upvotes: int | None = None,
    cap: int | None = None,
    containing: Sequence[str] = (),
) -> list[int]:
    """Paper ids the engine finds for `query`, best first by its own ranking (title weighted above abstract).
    `containing`: strings the title or abstract must also hold, in any case, which neither engine indexes ("c++"
    is the word "c" to both): filtered here, before the cap, so the few papers holding them are not cut off."""
    filters = []
    params: dict[str, object] = {}
    for n, needle in enumerate(containing):
        escaped = needle.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params[f"c{n}"] = f"%{escaped}%"
        filters.append(f"(lower(p.title) LIKE :c{n} ESCAPE '\\' OR lower(p.abstract) LIKE :c{n} ESCAPE '\\')")
    if isinstance(query, AllWords):  # PostgreSQL's (build_all_words_query)
        tsquery = query.sql(params)
    else:
        params["q"] = query
        tsquery = "to_tsquery('english', :q)"
    if since is not None:
        filters.append("coalesce(p.listed_on, p.published_on) >= :since")
        params["since"] = since
    if until is not None:
        filters.append("coalesce(p.listed_on, p.published_on) <= :until")
        params["until"] = until
    if min_upvotes is not None:
        filters.append("coalesce(p.upvotes, 0) >= :min_upvotes")
        params["min_upvotes"] = min_upvotes
    where = "".join(f" AND {f}" for f in filters)
    limit = ""
    if cap is not None:
        limit = " LIMIT :cap"
        params["cap"] = cap
    if dialect == "sqlite":
        sql = ("SELECT p.id FROM papers_fts JOIN papers p ON p.id = papers_fts.rowid "
               f"WHERE papers_fts MATCH :q{where} ORDER BY bm25(papers_fts, 10.0, 2.0, 2.0, 1.0), p.id{limit}")
    else:
        sql = (f"SELECT p.id FROM papers p, (SELECT {tsquery} AS q) AS query "
               f"WHERE p.search_vector @@ query.q{where} "
               f"ORDER BY ts_rank_cd(p.search_vector, query.q) DESC, p.id{limit}")
    return [int(row[0]) for row in (await session.execute(text(sql), params)).all()]
