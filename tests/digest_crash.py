"""A digest run that dies between posting and recording, in-process: the real runner and a real poster, with the
process's death standing in as an exception no handler catches (as SIGKILL would end it at that point)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bot.commands.services import CoreServices
from bot.digests.digest_runner import DigestRunner, DigestSettings, Outcome
from bot.digests.poster import DigestPoster, DigestTag, PostResult
from bot.messages import Message
from storage.destination_models import Destination  # the row the runner is handed, as in production

LEASE = 600.0


class ProcessDied(BaseException):
    """Not an `Exception`: the runner's failure handling must not see it, just as it never sees a SIGKILL."""


class DiesAfterPosting:
    """Posts through the real poster, then the process "dies" before the runner can complete the delivery."""

    def __init__(self, poster: Any) -> None:
        self.poster = poster
        self.posted: list[PostResult] = []

    async def post_digest(self, destination: Destination, message: Message, *,
                          tag: DigestTag | None = None, resume: PostResult | None = None) -> PostResult:
        resuming = {"resume": resume} if resume is not None else {}  # posters that never resume take no such word
        self.posted.append(await self.poster.post_digest(destination, message, tag=tag, **resuming))
        raise ProcessDied

    async def find_digest(self, destination: Destination, tag: DigestTag) -> PostResult | None:
        return await self.poster.find_digest(destination, tag)


async def post_then_die(services: CoreServices, platform: str, poster: Any, destination: Destination, day: date,
                        now: datetime) -> PostResult:
    """The first attempt: claimed, composed, posted — and never completed."""
    dying = DiesAfterPosting(poster)
    runner = DigestRunner(services, {platform: dying}, owner="dead-host:1:00000000",
                          settings=DigestSettings(lease_seconds=LEASE), clock=lambda: now)
    try:
        await runner.run_one(destination, day, now=now)
    except ProcessDied:
        pass
    assert len(dying.posted) == 1, "the first attempt should have posted"
    return dying.posted[0]


async def take_over(services: CoreServices, platform: str, poster: DigestPoster, destination: Destination, day: date,
                    now: datetime) -> Outcome:
    """Another process, once the dead one's lease has run out."""
    later = now + timedelta(seconds=LEASE + 1)
    runner = DigestRunner(services, {platform: poster}, owner="heir-host:2:11111111",
                          settings=DigestSettings(lease_seconds=LEASE), clock=lambda: later)
    return await runner.run_one(destination, day, now=later)
