"""A channel Paperboy posts to, as a frozen value: what a digest poster needs to know, never a database row.

A leaf module (no project imports): `storage/` builds these from its rows, adapters read them.
"""

from __future__ import annotations

from dataclasses import dataclass


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
