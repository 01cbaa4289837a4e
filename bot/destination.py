"""A channel Paperboy posts to, as a frozen value: what a digest poster needs to know, never a database row.

A leaf module (no project imports): `storage/` builds these from its rows, adapters read them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

CONSOLE_NAME_LIMIT = 80


def console_name(value: str, *, channel: bool) -> str:
    """A console channel (`channel`) or person as typed on the command line or in PAPERBOY_CONSOLE_CHANNEL, or a
    `ValueError` saying what is wrong. The name becomes part of a destination key and is printed back by `digest
    status`: "@bob" as a channel was bob's direct messages (`personal_key`), "a:b" another key's separator, an escape
    sequence drove the terminal, an invisible character made a second channel that looks like the first. A channel
    is one word, as a chat channel is, and a leading "#" is how people write one."""
    value = value.strip()
    if channel:
        value = value.removeprefix("#")
    if not value:
        raise ValueError("must not be empty")
    if len(value) > CONSOLE_NAME_LIMIT:
        raise ValueError(f"must be at most {CONSOLE_NAME_LIMIT} characters (it has {len(value)})")
    if any(unicodedata.category(c)[0] in "CZ" and c != " " for c in value):
        raise ValueError("must have no control or invisible characters")
    if ":" in value:
        raise ValueError("must have no ':'")
    if channel and " " in value:
        raise ValueError("must have no spaces")
    if channel and value.startswith("@"):
        raise ValueError("must be a channel name, not a person (@…)")
    return value


def destination_key(platform: str, workspace: str, channel: str) -> str:
    return f"{platform}:{workspace}:{channel}"


def personal_key(platform: str, workspace: str, user: str) -> str:
    """A person's own digest (by direct message): `@` never starts a Slack, Discord or console channel id."""
    return f"{platform}:{workspace}:@{user}"


@dataclass(frozen=True)
class Destination:
    key: str  # platform:workspace:channel
    platform: str
    workspace: str
    channel: str
    name: str | None = None
    timezone: str | None = None  # None: the configured default
    user: str | None = None  # a person's digest, posted to them by direct message; None: a channel
