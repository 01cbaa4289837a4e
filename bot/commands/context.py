"""Who is asking, where: the only platform facts the core needs, handed in by each adapter."""

from __future__ import annotations

from dataclasses import dataclass

from bot.destination import destination_key
from bot.scope import Scope


@dataclass(frozen=True)
class ChatContext:
    platform: str  # slack | discord | console
    workspace: str  # Slack team id, Discord guild id, "local"
    channel: str
    user: str
    channel_name: str | None = None
    thread_ref: str | None = None  # the bot message (or thread) a reply was written under
    mentioned: bool = False  # the bot was @-mentioned
    direct: bool = False  # a direct message with the bot (where a person's own digest is posted)

    @property
    def destination(self) -> str:
        return destination_key(self.platform, self.workspace, self.channel)

    @property
    def channel_scope(self) -> Scope:
        return Scope.for_channel(self.platform, self.workspace, self.channel)

    @property
    def personal_scope(self) -> Scope:
        return Scope.for_user(self.platform, self.workspace, self.user)
