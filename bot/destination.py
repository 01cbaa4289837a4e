"""A channel Paperboy posts to, as a frozen value: what a digest poster needs to know, never a database row.

A leaf module (no project imports): `storage/` builds these from its rows, adapters read them.
"""

from __future__ import annotations

from dataclasses import dataclass


def destination_key(platform: str, workspace: str, channel: str) -> str:
    return f"{platform}:{workspace}:{channel}"


@dataclass(frozen=True)
class Destination:
    key: str  # platform:workspace:channel
    platform: str
    workspace: str
    channel: str
    name: str | None = None
    timezone: str | None = None  # None: the configured default
