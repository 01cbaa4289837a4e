"""Digests posted to the console: printed with their number, so `reply N …` works on them like any post."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from adapters.console.console_adapter import next_console_number
from adapters.console.console_renderer import render_reply
from bot.digests.poster import DigestTag, PostResult
from bot.messages import Message, Reply
from storage.database import Database
from storage.destination_models import Destination
from storage.destination_store import find_digest_post, record_posted


class ConsolePoster:
    def __init__(self, db: Database, write: Callable[[str], None] | None = None) -> None:
        self.db = db
        self._write = write or (lambda text: print(text, flush=True))
        self._lock = asyncio.Lock()  # numbers are handed out one post at a time

    async def post_digest(self, destination: Destination, message: Message, *,
                          tag: DigestTag | None = None) -> PostResult:
        async with self._lock:
            number = await next_console_number(self.db, destination.key)
            self._write(f"— #{destination.channel} —\n" + render_reply(Reply(message), number))
            # The console's delivery log, written the moment the digest is out: a process that takes over
            # after this one died finds it here instead of printing the digest again (and #N stays unique).
            async with self.db.session() as session:
                await record_posted(session, destination.key, str(number), [i.paper_id for i in message.items],
                                    kind="digest", digest_day=tag.day if tag else None)
        return PostResult(str(number))

    async def find_digest(self, destination: Destination, message: Message, tag: DigestTag) -> PostResult | None:
        async with self.db.session() as session:
            found = await find_digest_post(session, destination.key, tag.day)
        return PostResult(found.message_ref, found.thread_ref) if found is not None else None
