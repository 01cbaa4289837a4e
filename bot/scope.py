"""Who a subscription belongs to: a channel or one person on a platform.

A leaf module (it imports only `bot.errors`): the core builds scopes from chat contexts and `storage/`
keys rows by them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import UsageError

_ID_LIMIT = 128


def _clean_id(value: str, what: str) -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > _ID_LIMIT or any(c in cleaned for c in ":\n\r\t"):
        raise UsageError(f"invalid {what} {cleaned[:40]!r}")
    return cleaned


@dataclass(frozen=True)
class Scope:
    """A channel (platform + workspace/guild + channel) or one person on a platform."""

    platform: str
    workspace: str
    channel: str | None = None
    user: str | None = None

    def __post_init__(self) -> None:
        if (self.channel is None) == (self.user is None):
            raise ValueError("a scope is either a channel or a user")
        _clean_id(self.platform, "platform")
        _clean_id(self.workspace, "workspace")
        _clean_id(self.channel if self.channel is not None else self.user or "",
                  "channel" if self.channel is not None else "user")

    @classmethod
    def for_channel(cls, platform: str, workspace: str, channel: str) -> Scope:
        return cls(platform, workspace, channel=channel)

    @classmethod
    def for_user(cls, platform: str, workspace: str, user: str) -> Scope:
        return cls(platform, workspace, user=user)

    @property
    def key(self) -> str:
        if self.channel is not None:
            return f"channel:{self.platform}:{self.workspace}:{self.channel}"
        return f"user:{self.platform}:{self.workspace}:{self.user}"

    @property
    def is_personal(self) -> bool:
        return self.user is not None
