"""Commands named inside answers ("/subscribe --me TOPIC"), spelled as the asker's platform takes them.

The console and Slack take a line of text with flags; Discord takes typed options, so the same hint there is
"/subscribe topic:TOPIC personal:True", and the digest settings are a command of their own (/digest). Every
spelling is derived from the command table, never written out by the handlers.
"""

from __future__ import annotations


def command_hint(platform: str, name: str, sub: str | None = None, *, value: str = "",
                 personal: bool = False) -> str:
    """`/name [sub] [--me] [value]` on text platforms; `/command option:value personal:True` on Discord.
    `value` goes to the entry's first option (its only free-text one in every entry hints name)."""
    # Imported here: the table imports the handlers that call this.
    from bot.commands.command_table import OPTION_PLATFORMS, invocation, spec

    entry = spec(name, sub)
    words = [invocation(platform, name, sub)]
    if platform in OPTION_PLATFORMS:
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
