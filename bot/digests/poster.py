"""How digests leave the core: each adapter implements `DigestPoster` for its platform."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
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
    # Of a found digest: the numbers its messages list, each with the paper it showed there where the platform
    # tells (`paper_key`: its id, or its link; None: only the number is known); None: it lists them all. An attempt
    # that failed or died between two messages of a split digest left the others unposted: the runner has the
    # poster post those papers (`post_digest(..., resume=found)`).
    listed: Mapping[int, str | None] | None = None


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


def paper_key(paper_id: int) -> str:
    """How a platform that can keep data beside a message (Slack's metadata) names a paper it listed."""
    return f"#{paper_id}"


def _shown_and_rest(message: Message, found: PostResult) -> tuple[dict[int, int], Message | None]:
    """What a found digest shows (its number → paper id, in number order) and what of `message` it does not show,
    as the digest's next message (None: nothing). The digest may rank differently now than when the earlier attempt
    posted (upvotes rose, someone judged, papers came in), so a shown number names the paper the platform kept
    (`paper_key`, or the paper's link), and only where it kept none the paper with that number in `message`."""
    if found.listed is None:
        return {item.number: item.paper_id for item in message.items}, None
    by_url = {item.url: item.paper_id for item in message.items if item.url}
    by_number = {item.number: item.paper_id for item in message.items}
    shown: dict[int, int] = {}
    for number, key in sorted(found.listed.items()):
        if key is not None and key.startswith("#") and key[1:].isdigit():
            paper_id: int | None = int(key[1:])
        else:
            paper_id = by_url.get(key) if key is not None else None
            if paper_id is None:
                paper_id = by_number.get(number)
        if paper_id is not None:
            shown[number] = paper_id
    seen = set(shown.values())
    missing = [item for item in message.items if item.paper_id not in seen]
    if not missing:
        return shown, None
    start = max(found.listed, default=0) + 1
    missing = [dataclasses.replace(item, number=start + n) for n, item in enumerate(missing)]
    header = continued(message.header) if message.header else None
    return shown, Message(header=header, items=missing, context=message.context)


def unlisted(message: Message, found: PostResult) -> Message | None:
    """What of a digest an earlier attempt did not get out (see `PostResult.listed`), as the digest's next
    message: its header marked as continued, the papers not shown yet numbered on from the last number shown, its
    small print; None when nothing is missing."""
    return _shown_and_rest(message, found)[1]


def digest_papers(message: Message, found: PostResult | None) -> list[int]:
    """The digest's papers in the order of the numbers people see, for replies ("summarize 3"): what a found
    post shows, then what `unlisted` adds after it; without `found`, the message's own."""
    if found is None:
        return [item.paper_id for item in message.items]
    shown, rest = _shown_and_rest(message, found)
    return [*shown.values(), *(item.paper_id for item in (rest.items if rest else []))]


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
        is recorded with all the digest's papers (`record_digest_parts`, in `digest_papers` order), so
        "summarize 12" works under any."""
        ...

    async def find_digest(self, destination: Destination, tag: DigestTag) -> PostResult | None:
        """The digest an earlier attempt posted with `tag`, if the platform has it; None if it is not there.
        Raise `DeliveryError` when the platform cannot be asked: posting blind could post it twice."""
        ...
