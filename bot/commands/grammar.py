"""The command grammar: raw text in, a clean command or a short usage message out.

Everything typed in a chat arrives here first, so this is where hostile input stops: oversized arguments,
control and bidi-override characters, stray flags. Nothing here touches the database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from bot.errors import UsageError

MAX_INPUT_CHARS = 2000
COMMANDS = ("papers", "subscribe", "unsubscribe", "subscriptions")
PAPERS_SUBCOMMANDS = ("today", "top", "search", "show", "why", "help", "digest")
_FLAG_RE = re.compile(r"^--?[\w-]+$")

PAPERS_USAGE = (
    "Usage: /papers [today] · /papers top [week|month] · /papers search QUERY · /papers show ID_OR_URL · "
    "/papers why ID · /papers digest HH:MM [TIMEZONE] | off | preview · /papers help"
)
SUBSCRIBE_USAGE = "Usage: /subscribe TOPIC (for this channel) or /subscribe --me TOPIC (just for you)"
UNSUBSCRIBE_USAGE = "Usage: /unsubscribe TOPIC or /unsubscribe --me TOPIC"


@dataclass(frozen=True)
class Command:
    name: str  # papers | subscribe | unsubscribe | subscriptions
    sub: str | None = None  # for papers: today | top | search | …
    args: str = ""
    flags: frozenset[str] = field(default_factory=frozenset)


def sanitize(text: str) -> str:
    """Control, format (bidi overrides, zero-width) and other invisible characters become spaces."""
    if len(text) > MAX_INPUT_CHARS:
        raise UsageError(f"that is too long ({len(text):,} characters; at most {MAX_INPUT_CHARS:,})")
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp") else c for c in text)
    return " ".join(cleaned.split())


def split_command(text: str) -> tuple[str, str]:
    """"/papers search gnn" → ("papers", "search gnn"); the slash is optional in the console."""
    cleaned = sanitize(text)
    if not cleaned:
        raise UsageError("type a command, e.g. /papers today (or /papers help)")
    head, _, rest = cleaned.partition(" ")
    return head.lstrip("/").lower(), rest.strip()


def parse(name: str, args: str) -> Command:
    name = name.lstrip("/").lower()
    args = sanitize(args)
    if name not in COMMANDS:
        raise UsageError(f"unknown command /{name[:30]}. Try /papers help")
    if name == "papers":
        return _parse_papers(args)
    if name == "subscriptions":
        if args and args not in ("--me", "me"):
            raise UsageError("Usage: /subscriptions")
        return Command(name)
    flags = set()
    words = args.split(" ") if args else []
    while words and words[0].startswith("-"):
        flag = words.pop(0)
        if flag not in ("--me", "-m"):
            raise UsageError(f"unknown option {flag[:30]}. " + (SUBSCRIBE_USAGE if name == "subscribe"
                                                                   else UNSUBSCRIBE_USAGE))
        flags.add("me")
    topic = " ".join(words)
    if not topic:
        raise UsageError(SUBSCRIBE_USAGE if name == "subscribe" else UNSUBSCRIBE_USAGE)
    return Command(name, args=topic, flags=frozenset(flags))


def _parse_papers(args: str) -> Command:
    if not args:
        return Command("papers", "today")
    sub, _, rest = args.partition(" ")
    sub = sub.lower()
    rest = rest.strip()
    if sub not in PAPERS_SUBCOMMANDS:
        raise UsageError(f"unknown subcommand {sub[:30]!r}. {PAPERS_USAGE}")
    if sub in ("today", "help") and rest:
        raise UsageError(f"/papers {sub} takes no arguments. {PAPERS_USAGE}")
    if sub == "top" and rest.lower() not in ("", "week", "month", "day"):
        raise UsageError("Usage: /papers top [week|month]")
    if sub in ("search", "show", "why") and not rest:
        raise UsageError({"search": "Usage: /papers search QUERY", "show": "Usage: /papers show ID_OR_URL",
                          "why": "Usage: /papers why ID"}[sub])
    if sub in ("search", "show", "why") and _FLAG_RE.match(rest.split(" ")[0]):
        raise UsageError(f"unknown option {rest.split(' ')[0][:30]}. {PAPERS_USAGE}")
    if sub in ("show", "why") and not any(c.isalpha() for c in rest):  # an id (#12, 2401.12345), not a title
        require_ascii_digits(rest, f"/papers {sub} #12")
    return Command("papers", sub, rest)


_TIME_RE = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")


def has_foreign_digits(text: str) -> bool:
    """Digits other than 0-9 (Arabic-Indic ٣, fullwidth ３, superscript ²): `int()` reads most of them, so they
    would slip into stored times and numbers looking unlike anything the bot shows back."""
    return any(c.isdigit() and not c.isascii() for c in text)


def require_ascii_digits(text: str, example: str) -> None:
    if has_foreign_digits(text):
        raise UsageError(f"{text[:20]!r}: please write numbers with the digits 0-9, e.g. {example}")


def parse_time(text: str) -> str:
    """"8:30" → "08:30"; anything that is not a real time of day is refused."""
    require_ascii_digits(text, "/papers digest 09:30")
    m = _TIME_RE.match(text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise UsageError(f"{text[:20]!r} is not a time of day; use HH:MM, e.g. /papers digest 09:00 Europe/Paris")
    return f"{int(m.group(1)):02d}:{m.group(2)}"
