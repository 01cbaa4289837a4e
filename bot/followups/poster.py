"""How a follow-up leaves the core: each platform's poster replies in a digest's thread."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from bot.destination import Destination
from bot.messages import Message


@dataclass(frozen=True)
class ThreadTarget:
    """Where a digest's thread is, and the mark of one day's reply in it.

    `message_ref` is the digest's first message (Slack `thread_ts`, the console's #N, the Discord message);
    `thread_ref` the thread a Discord digest opened. `tag` is the same for every attempt at one (thread, day)
    reply, so a platform that can deduplicate (Discord's enforced nonce, the console's delivery log) does."""

    message_ref: str
    thread_ref: str | None
    claim_key: str
    day: date

    @property
    def tag(self) -> str:
        return "fu" + hashlib.sha256(f"{self.claim_key}/{self.day.isoformat()}".encode()).hexdigest()[:18]


@runtime_checkable
class FollowupPoster(Protocol):
    async def post_followup(self, destination: Destination, target: ThreadTarget, message: Message) -> str:
        """Reply in the thread and return the reply's message ref; raise `bot.errors.DeliveryError` on failure.
        Never mentions anyone."""
        ...

    async def find_followup(self, destination: Destination, target: ThreadTarget) -> str | None:
        """The reply an earlier attempt posted with `target.tag`, if the platform has it (a process can die
        after posting and before recording); raise `DeliveryError` when the platform cannot be asked."""
        ...
