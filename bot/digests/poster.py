"""How digests leave the core: each adapter implements `DigestPoster` for its platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.messages import Message
from storage.destination_models import Destination


@dataclass(frozen=True)
class PostResult:
    message_ref: str  # the platform's id of the (first) message
    thread_ref: str | None = None  # a thread the post opened (Discord), where replies will arrive


class DigestPoster(Protocol):
    async def post_digest(self, destination: Destination, message: Message) -> PostResult:
        """Post or raise `bot.errors.DeliveryError`; may split a long message into several."""
        ...
