"""Hyphenated words joined ("Bi-Level" → "BiLevel"): one rule for the matcher and the database's full-text index.

A leaf module (no project imports), so that `storage/` can index papers the way `bot/topics/` reads them
without depending on the matcher.
"""

from __future__ import annotations

import re

# A compound starts only where a word does, and a part is never given back: "[^\W_]+" tried every start and every
# length in a 50,000-letter word ending in "-", holding an ingest for minutes.
COMPOUND_RE = re.compile(r"(?<![^\W_])[^\W_]++(?:-[^\W_]++)+", re.UNICODE)


# Every character `str.split()` splits on except the space (tests/test_feed_parsers.py checks the list).
_SPACES_BUT_BLANK_RE = re.compile(
    "[\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def joined_compounds(text: str) -> list[str]:
    """"Bi-Level" → "BiLevel": hyphenated words written as one, so "bilevel" finds "bi-level" (also in the
    database's full-text index, which is why this lives in one function both sides use).

    What counts is the first compound in each whitespace-separated word that has a hyphen; the words are found
    from the hyphens outwards rather than by splitting the whole text (a hot path of ingesting)."""
    if "-" not in text:
        return []
    if _SPACES_BUT_BLANK_RE.search(text):
        text = " ".join(text.split())  # the same words, separated by spaces only
    found: dict[str, None] = {}
    hyphen = text.find("-")
    while hyphen != -1:
        end = text.find(" ", hyphen)
        if end == -1:
            end = len(text)
        if m := COMPOUND_RE.search(text, text.rfind(" ", 0, hyphen) + 1, end):
            found[m.group(0).replace("-", "")] = None
        hyphen = text.find("-", end)
    return list(found)
