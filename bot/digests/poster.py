"""How digests leave the core: each adapter implements `DigestPoster` for its platform."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from bot.destination import Destination
from bot.messages import Message, continued

# How far before an earlier attempt's claim a platform search starts: clocks of hosts and platforms differ.
SEARCH_MARGIN_SECONDS = 300.0


@dataclass(frozen=True)
class PostResult:
    message_ref: str  # the platform's id of the (first) message
    thread_ref: str | None = None  # a thread the post opened (Discord), where replies will arrive
    # The later messages of a split digest that `find_digest` found; the runner records them as a post records
    # its own (`record_digest_parts`), so replies under any part work after a recovery too.
    later_refs: tuple[str, ...] = ()
    # Of a found digest: the numbers of the papers its messages list, where the platform tells (None: all of
    # them). An attempt that failed or died between two messages of a split digest left the others unposted: the
    # runner has the poster post those papers (`post_digest(..., resume=found)`).
    listed: frozenset[int] | None = None


@dataclass(frozen=True)
class DigestTag:
    """The mark every message of one delivery (destination, day) carries on its platform.

    A process can die after the platform accepted its digest but before the delivery was completed; the next
    claimer then asks the platform for a message with this tag (`DigestPoster.find_digest`) and completes the
    delivery instead of posting it a second time. `since` is when the delivery was first claimed, where such
    a search starts (None on a first attempt, which never searches)."""

    destination_key: str
    day: date
    since: datetime | None = None

    @property
    def key(self) -> str:
        """The claim's key in words: the delivery it marks."""
        return f"{self.destination_key}/{self.day.isoformat()}"

    @property
    def token(self) -> str:
        """A short, stable stand-in for `key`, for places with little room (a Discord nonce is ≤ 25 characters)."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:20]

    def part_nonce(self, index: int) -> str:
        """A distinct nonce per message of a split digest (Discord returns the first message for a reused one)."""
        return f"{self.token}{index:02d}"[:25]


def unlisted(message: Message, found: PostResult) -> Message | None:
    """What of a digest an earlier attempt did not get out (see `PostResult.listed`), as the digest's next
    message: its header marked as continued, the papers not listed yet (keeping their numbers), its small print;
    None when nothing is missing."""
    if found.listed is None:
        return None
    missing = [item for item in message.items if item.number not in found.listed]
    if not missing:
        return None
    header = continued(message.header) if message.header else None
    return Message(header=header, items=missing, context=message.context)


def to_post(message: Message, resume: PostResult | None) -> tuple[Message, int] | None:
    """What `post_digest` posts, and the part number its first message gets: the whole digest from part 0; with
    `resume`, the papers the found post does not list, its parts numbered on; None when it lists them all."""
    if resume is None:
        return message, 0
    missing = unlisted(message, resume)
    return (missing, 1 + len(resume.later_refs)) if missing is not None else None


class DigestPoster(Protocol):
    async def post_digest(self, destination: Destination, message: Message, *,
                          tag: DigestTag | None = None, resume: PostResult | None = None) -> PostResult:
        """Post or raise `bot.errors.DeliveryError`; may split a long message into several, each carrying `tag`.
        `resume`: what `find_digest` found of an earlier attempt; only the papers it does not list are posted, as
        the digest's next messages (the found thread stays the digest's). Every message after a digest's first
        is recorded with all the digest's papers (`record_digest_parts`), so "summarize 12" works under any."""
        ...

    async def find_digest(self, destination: Destination, tag: DigestTag) -> PostResult | None:
        """The digest an earlier attempt posted with `tag`, if the platform has it; None if it is not there.
        Raise `DeliveryError` when the platform cannot be asked: posting blind could post it twice."""
        ...
