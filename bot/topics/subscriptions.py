"""Who subscribed to what: the rules (limits, normalisation, friendly no-ops), independent of any platform."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.errors import UsageError
from bot.topics.glossary import term_key
from bot.topics.topic_query import normalize_topic

MAX_TOPICS_PER_SCOPE = 50
MAX_TOPIC_CHARS = 100
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
        _clean_id(self.channel or self.user or "", "channel" if self.channel else "user")

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


def clean_topic(raw: str) -> tuple[str, str]:
    """The topic as shown and its matching key; a clear `UsageError` for anything unusable."""
    if len(raw) > 4 * MAX_TOPIC_CHARS:
        raise UsageError(f"that topic is too long ({len(raw)} characters; at most {MAX_TOPIC_CHARS})")
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in raw)
    text = text.strip().strip("\"'“”‘’`").strip()
    if not text:
        raise UsageError("say which topic, e.g. /subscribe diffusion models")
    if len(text) > MAX_TOPIC_CHARS:
        raise UsageError(f"that topic is too long ({len(text)} characters; at most {MAX_TOPIC_CHARS})")
    shown = normalize_topic(text)
    key = term_key(shown)
    if not key:
        raise UsageError(f"{shown[:40]!r} has no words to match papers with")
    return shown, key
