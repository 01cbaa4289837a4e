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


# The one grammar for the papers a thread reply names after its verb ("summarize", "why", "like", "more"…): numbers
# in a listing's usual spellings ("2", "#2", "paper no. 2", "the paper #2", "1, 3 and 4", "1-3", "all"), among
# filler and politeness. Anything else after the verb makes the message chatter, not a request.
_REF_TOKEN_RE = re.compile(r"(\d+)\s*-\s*(\d+)|(\d+)|([^\W\d_]+)|[#&+-]")
_REF_FILLER = frozenset("paper papers no nr number numbers the of and to through then also please pls thanks "
                        "thank you".split())
_REF_EVERY = frozenset("all both each every everything them these those".split())


@dataclass(frozen=True)
class PaperRefs:
    numbers: tuple[str, ...]  # as typed, in order, each once; a range "1-3" gives its first two
    every: bool  # "all", "both", "them"
    ranged: bool  # a range ("1-3") was among them: `numbers` holds only its first two
    bare: bool  # nothing at all followed the verb (punctuation aside): "like", "more!"

    def listed(self, *, ranges: bool = True) -> tuple[str, ...] | None:
        """The numbers of a reply that judges or picks listed papers ("more 2", "like paper #2"), () for a bare
        verb, or None: "like the paper", "more of them" and "like all" name no listed paper, so they are chatter."""
        if self.every or (self.ranged and not ranges) or not (self.numbers or self.bare):
            return None
        return self.numbers


def papers_named(rest: str) -> PaperRefs | None:
    """The papers the words after a verb name, or None when they say anything else."""
    rest = re.sub(r"[,:;.!?()\"'“”]", " ", rest)
    if _REF_TOKEN_RE.sub(" ", rest).strip():
        return None
    numbers: list[str] = []
    every = ranged = False
    for token in _REF_TOKEN_RE.finditer(rest):
        start, end, single, word = token.groups()
        if word is not None:
            if word.lower() in _REF_EVERY:
                every = True
            elif word.lower() not in _REF_FILLER:
                return None
        elif single is not None:
            numbers.append(single)
        elif start is not None:
            following = str(int(start) + 1) if len(start) <= 6 and start.isascii() and start != end else end
            numbers.extend((start, following))
            ranged = True
    return PaperRefs(tuple(dict.fromkeys(numbers)), every, ranged, bare=not rest.strip())


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
