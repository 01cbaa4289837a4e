"""The command grammar: raw text in, a clean command or a short usage message out.

Which commands and subcommands exist, their arguments and their usage lines all come from
`bot.commands.command_table`; this module only applies them. Nothing here touches the database.
"""

from __future__ import annotations

import re

from bot.commands.command_hints import command_hint
from bot.commands.command_input import (
    MAX_INPUT_CHARS,
    Command,
    has_foreign_digits,
    parse_time,
    require_ascii_digits,
    sanitize,
)
from bot.commands.command_table import (
    COMMANDS,
    OPTION_PLATFORMS,
    PAPER_REF,
    CommandSpec,
    slash_command,
    spec,
    usage_line,
)
from bot.errors import UsageError

__all__ = ["COMMANDS", "MAX_INPUT_CHARS", "Command", "has_foreign_digits", "parse", "parse_time",
           "require_ascii_digits", "sanitize", "split_command"]

_FLAG_RE = re.compile(r"^--?[\w-]+$")
_PERSONAL_FLAGS = ("--me", "-m")


def split_command(text: str) -> tuple[str, str]:
    """"/papers search gnn" → ("papers", "search gnn"); the slash is optional in the console."""
    cleaned = sanitize(text)
    if not cleaned:
        raise UsageError("type a command, e.g. /papers today (or /papers help)")
    head, _, rest = cleaned.partition(" ")
    return head.lstrip("/").lower(), rest.strip()


def _usage(entry: CommandSpec, platform: str) -> str:
    """The entry's usage as the asker's platform takes it: Discord's typed options ("/subscribe topic [personal]")
    reach the grammar as text too, and must not be told about `--me`."""
    return "Usage: " + (entry.option_synopsis() if platform in OPTION_PLATFORMS else entry.usage)


def parse(name: str, args: str, platform: str = "console") -> Command:
    """`platform` is the asker's, for the usage lines of refusals."""
    name = name.lstrip("/").lower()
    args = sanitize(args)
    command = slash_command(name)
    if command is None:
        raise UsageError(f"unknown command /{name[:30]}. Try /papers help")
    if any(entry.sub is not None for entry in command.entries):
        return _parse_sub(name, args, platform)
    entry = spec(name)
    if not entry.arguments:
        if args and args not in ("--me", "me"):
            raise UsageError(_usage(entry, platform))
        return Command(name)
    flags = set()
    words = args.split(" ") if args else []
    while words and words[0].startswith("-"):
        flag = words.pop(0)
        if flag not in _PERSONAL_FLAGS:
            raise UsageError(f"unknown option {flag[:30]}. {_usage(entry, platform)}")
        flags.add("me")
    rest = " ".join(words)
    if not rest:
        raise UsageError(_usage(entry, platform))
    return Command(name, args=rest, flags=frozenset(flags))


def _parse_sub(name: str, args: str, platform: str) -> Command:
    usage = usage_line(name)
    command = slash_command(name)
    assert command is not None
    if not args:
        return Command(name, command.entries[0].sub)  # the first entry is the default: /papers → /papers today
    sub, _, rest = args.partition(" ")
    sub = sub.lower()
    rest = rest.strip()
    entry: CommandSpec | None = next((e for e in command.entries if e.sub == sub), None)
    if entry is None:
        raise UsageError(f"unknown subcommand {sub[:30]!r}. {usage}")
    if not entry.arguments and rest:
        raise UsageError(f"/{name} {sub} takes no arguments. {usage}")
    for argument in entry.arguments[:1]:
        if argument.choices:  # "/papers mention on" is "me on": the handler gets the choice itself
            rest = argument.canonical(rest)
            if rest not in ("", *argument.choices):
                raise UsageError(_usage(entry, platform))
        if argument.required and not rest:
            raise UsageError(_usage(entry, platform))
        if argument.required and _FLAG_RE.match(rest.split(" ")[0]):
            # this entry's own usage: the whole command's would not say which option it lacks (search has no --me)
            raise UsageError(f"unknown option {rest.split(' ')[0][:30]}. {_usage(entry, platform)}")
        if argument is PAPER_REF and not any(c.isalpha() for c in rest):  # an id (#12, 2401.12345), not a title
            require_ascii_digits(rest, command_hint(platform, name, sub, value="#12"))
    return Command(name, sub, rest)
