"""A command as the grammar hands it to handlers, and the input rules every typed text goes through.

Everything typed in a chat passes `sanitize` first, so this is where hostile input stops: oversized text,
control and bidi-override characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.errors import UsageError
from bot.papers import INVISIBLE_RE

MAX_INPUT_CHARS = 2000


@dataclass(frozen=True)
class Command:
    name: str  # papers | subscribe | unsubscribe | subscriptions
    sub: str | None = None  # for papers: today | top | search | …
    args: str = ""
    flags: frozenset[str] = field(default_factory=frozenset)


def sanitize(text: str) -> str:
    """Characters no reader sees (a soft hyphen, zero-width space, bidi override) are dropped, as from paper text:
    inside a word copied from a web page they split it, and "atten\u00adtion" became the topic "atten tion". Other
    control and format characters (tabs, line breaks) become spaces."""
    if len(text) > MAX_INPUT_CHARS:
        raise UsageError(f"that is too long ({len(text):,} characters; at most {MAX_INPUT_CHARS:,})")
    text = INVISIBLE_RE.sub("", text)
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp") else c for c in text)
    return " ".join(cleaned.split())


_TIME_RE = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")


def has_foreign_digits(text: str) -> bool:
    """Digits other than 0-9 (Arabic-Indic ٣, fullwidth ３, superscript ²): `int()` reads most of them, so they
    would slip into stored times and numbers looking unlike anything the bot shows back."""
    return any(c.isdigit() and not c.isascii() for c in text)


def require_ascii_digits(text: str, example: str) -> None:
    if has_foreign_digits(text):
        raise UsageError(f"{text[:20]!r}: please write numbers with the digits 0-9, e.g. {example}")


def pick_listed(ids: list[int], digits: str | None, example: str) -> int | str:
    """The id of a listing's paper that a thread reply's number names (None: the listing's only paper), or what
    to tell the person. `ids[n - 1]` is the paper numbered n; 0 where the message shows no paper n (a later page
    of `/papers today` numbers on from 11 without showing 1 to 10). The reply grammars match any digit, so
    "summarize ٣" gets a hint (`example`), not silence."""
    shown = [n for n, paper_id in enumerate(ids, start=1) if paper_id]
    span = f"{shown[0]} to {shown[-1]}" if shown else "none"
    if digits is None:
        if len(shown) != 1:
            return f"Which one? Reply with a number from {span}, e.g. {example}."
        return ids[shown[0] - 1]
    require_ascii_digits(digits, example)
    digits = digits.lstrip("0") or "0"
    index = int(digits) if len(digits) <= len(str(len(ids))) else 0  # no int() of a 2,000-digit reply
    if not 1 <= index <= len(ids) or not ids[index - 1]:
        said = digits if len(digits) <= 12 else digits[:12] + "…"
        return f"There is no paper {said} there; pick {span}." if len(shown) > 1 else \
            f"There is no paper {said} there; it has only paper {span.split()[0]}."
    return ids[index - 1]


def parse_time(text: str, example: Callable[[str], str] = lambda setting: f"/papers digest {setting}") -> str:
    """"8:30" → "08:30"; anything that is not a real time of day is refused. `example(setting)` is the command
    line a refusal shows with a good setting, as the asker's platform spells it."""
    require_ascii_digits(text, example("09:30"))
    m = _TIME_RE.match(text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise UsageError(f"{text[:20]!r} is not a time of day; use HH:MM, e.g. {example('09:00 Europe/Paris')}")
    return f"{int(m.group(1)):02d}:{m.group(2)}"
