"""Commands named inside answers ("/subscribe --me TOPIC"), spelled as the asker's platform takes them.

The console and Slack take a line of text with flags; Discord takes typed options, so the same hint there is
"/subscribe topic:TOPIC personal:True", and the digest settings are a command of their own (/digest). Every
spelling is derived from the command table, never written out by the handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Set by bot.commands.command_table when it loads (it imports the handlers that call this, so this module must
# not import it): the entry for (name, sub), and how a platform invokes it.
_spec: Callable[[str, str | None], Any] | None = None
_invocation: Callable[[str, str, str | None], str] | None = None
_option_platforms: tuple[str, ...] = ()


def use_table(spec: Callable[[str, str | None], Any], invocation: Callable[[str, str, str | None], str],
              option_platforms: tuple[str, ...]) -> None:
    global _spec, _invocation, _option_platforms
    _spec, _invocation, _option_platforms = spec, invocation, option_platforms


def command_hint(platform: str, name: str, sub: str | None = None, *, value: str = "",
                 personal: bool = False) -> str:
    """`/name [sub] [--me] [value]` on text platforms; `/command option:value personal:True` on Discord.
    `value` goes to the entry's first option (its only free-text one in every entry hints name)."""
    assert _spec is not None and _invocation is not None, "bot.commands.command_table is not loaded"
    entry = _spec(name, sub)
    words = [_invocation(platform, name, sub)]
    if platform in _option_platforms:
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
