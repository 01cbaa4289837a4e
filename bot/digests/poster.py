"""How digests leave the core: each adapter implements `DigestPoster` for its platform."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from bot.destination import Destination
from bot.messages import Message


@dataclass(frozen=True)
class PostResult:
    message_ref: str  # the platform's id of the (first) message
    thread_ref: str | None = None  # a thread the post opened (Discord), where replies will arrive


@dataclass(frozen=True)
class DigestTag:
    """The claim a digest message carries on its platform, so that a process taking over from one that died
    between posting and recording can ask the platform whether the digest is already there."""

    destination_key: str
    day: date

    @property
    def key(self) -> str:
        return f"{self.destination_key}|{self.day.isoformat()}"

    @property
    def nonce(self) -> str:
        """Short enough for a Discord nonce (25 characters), the same for every attempt at this digest."""
        return "pb" + hashlib.sha256(self.key.encode()).hexdigest()[:22]


class DigestPoster(Protocol):
    async def post_digest(self, destination: Destination, message: Message, *,
                          tag: DigestTag | None = None) -> PostResult:
        """Post or raise `bot.errors.DeliveryError`; may split a long message into several. The first message
        carries `tag` in whatever way the platform keeps it (Slack metadata, Discord nonce, console log)."""
        ...

    async def find_digest(self, destination: Destination, message: Message, tag: DigestTag) -> PostResult | None:
        """The digest already on the platform under `tag`, if any (checked only after a crashed owner)."""
        ...
