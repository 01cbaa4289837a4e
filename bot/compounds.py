"""Hyphenated words joined ("Bi-Level" → "BiLevel"): one rule for the matcher and the database's full-text index.

A leaf module (no project imports), so that `storage/` can index papers the way `bot/topics/` reads them
without depending on the matcher.
"""

from __future__ import annotations

import re

COMPOUND_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)+", re.UNICODE)


def joined_compounds(text: str) -> list[str]:
    """"Bi-Level" → "BiLevel": hyphenated words written as one, so "bilevel" finds "bi-level" (also in the
    database's full-text index, which is why this lives in one function both sides use)."""
    found: dict[str, None] = {}
    if "-" in text:
        for chunk in text.split():
            if "-" in chunk and (m := COMPOUND_RE.search(chunk)):
                found[m.group(0).replace("-", "")] = None
    return list(found)
