"""Commands named inside answers ("/subscribe --me TOPIC"), spelled as the asker's platform takes them.

The console and Slack take a line of text with flags; Discord takes typed options, so the same hint there is
"/subscribe topic:TOPIC personal:True", and the digest settings are a command of their own (/digest). Every
spelling is derived from the command table, never written out by the handlers.

The table imports the handlers that call `command_hint`, so the table hands itself in (`use_table`, called once
when `command_table` is imported) instead of being imported here: no import cycle. Before that (a handler used
with no table at all), hints fall back to the text platforms' spelling, which is still a true command there.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Table:
    spec: Callable[[str, str | None], Any]
    invocation: Callable[[str, str, str | None], str]
    option_platforms: Collection[str]


_table: _Table | None = None


def use_table(spec: Callable[[str, str | None], Any], invocation: Callable[[str, str, str | None], str],
              option_platforms: Collection[str]) -> None:
    global _table
    _table = _Table(spec, invocation, option_platforms)


def command_hint(platform: str, name: str, sub: str | None = None, *, value: str = "",
                 personal: bool = False) -> str:
    """`/name [sub] [--me] [value]` on text platforms; `/command option:value personal:True` on Discord.
    `value` goes to the entry's first option (its only free-text one in every entry hints name)."""
    table = _table
    if table is None:
        words = ["/" + name] + ([sub] if sub else [])
    else:
        words = [table.invocation(platform, name, sub)]
        if platform in table.option_platforms:
            entry = table.spec(name, sub)
            if value and entry.arguments:
                words.append(f"{entry.arguments[0].name}:{value}")
            if personal and entry.personal_option:
                words.append("personal:True")
            return " ".join(words)
    if personal:
        words.append("--me")
    if value:
        words.append(value)
    return " ".join(words)


def optional_personal_hint(platform: str, name: str, sub: str | None = None, *, value: str = "") -> str:
    """A usage line's form with the personal flag marked optional, where the platform takes it:
    `/papers feedback [--me] reset TOPIC`, on Discord `/papers feedback what:reset TOPIC [personal:True]`."""
    plain = command_hint(platform, name, sub, value=value).split(" ")
    flagged = command_hint(platform, name, sub, value=value, personal=True).split(" ")
    at = next((i for i, (a, b) in enumerate(zip(plain, flagged, strict=False)) if a != b), len(plain))
    if len(flagged) != len(plain) + 1 or flagged[at + 1:] != plain[at:]:
        return " ".join(plain)  # no personal flag for this command
    flagged[at] = f"[{flagged[at]}]"
    return " ".join(flagged)


def thread_reply_hint(platform: str, *examples: str) -> str:
    """Thread replies as a person types them there: on Discord with a mention, since without the privileged
    message-content intent the bot reads only messages that mention it (and a mention works with it too)."""
    mention = "@Paperboy " if platform == "discord" else ""
    return " or ".join(f"“{mention}{example}”" for example in examples)
