"""Acronyms papers define for themselves ("Class-Incremental Learning (CIL)"), found with Schwartz & Hearst's
algorithm (2003). Papers coin acronyms faster than any glossary can list them; learning them from the stored
papers lets "cil" find papers that only ever write "class-incremental learning", and the reverse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PAREN_RE = re.compile(r"\(([^()]{2,12})\)")
_SHORT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9\-]{1,9}$")


@dataclass(frozen=True)
class Definition:
    short: str
    long: str


def _best_long_form(short: str, candidate: str) -> str | None:
    """Schwartz-Hearst: match the short form's characters right to left; the first must start a word."""
    s_index = len(short) - 1
    l_index = len(candidate) - 1
    while s_index >= 0:
        ch = short[s_index].lower()
        if not ch.isalnum():
            s_index -= 1
            continue
        while l_index >= 0 and (
            candidate[l_index].lower() != ch
            or (s_index == 0 and l_index > 0 and candidate[l_index - 1].isalnum())
        ):
            l_index -= 1
        if l_index < 0:
            return None
        l_index -= 1
        s_index -= 1
    start = candidate.rfind(" ", 0, l_index + 1) + 1
    return candidate[start:].strip(" -,;:")


def find_definitions(text: str) -> list[Definition]:
    found: list[Definition] = []
    for m in _PAREN_RE.finditer(text):
        short = m.group(1).strip()
        if not _SHORT_RE.match(short) or not any(c.isupper() for c in short) or short.isdigit():
            continue
        if sum(c.isupper() for c in short) < 2 and len(short) < 3:
            continue
        before = text[:m.start()].rstrip()
        words = before.split()
        window = words[-min(len(short) + 5, len(short) * 2):]
        if not window:
            continue
        long_form = _best_long_form(short, " ".join(window))
        if not long_form:
            continue
        n_words = len(long_form.split())
        if n_words < 2 or n_words > len(short) + 3 or len(long_form) <= len(short):
            continue
        found.append(Definition(short, long_form.strip("{}[]\"' ")))
    return found
