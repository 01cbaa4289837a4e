"""Digests posted to the console: printed with their number, so `reply N …` works on them like any post."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from adapters.console.console_renderer import render_reply
from bot.commands.command_core import CommandCore
from bot.destination import Destination
from bot.digests.poster import DigestTag, PostResult
from bot.messages import Message, Reply


class ConsolePoster:
    def __init__(self, core: CommandCore, write: Callable[[str], None] | None = None) -> None:
        self.core = core
        self._write = write or (lambda text: print(text, flush=True))
        self._lock = asyncio.Lock()  # numbers are handed out one post at a time

    async def post_digest(self, destination: Destination, message: Message, *,
                          tag: DigestTag | None = None) -> PostResult:
        async with self._lock:
            number = await self.core.next_message_number(destination.key)
            self._write(f"— #{destination.channel} —\n" + render_reply(Reply(message), number))
            # The console's delivery log, written the moment the digest is out: a process that takes over
            # after this one died finds it here instead of printing the digest again (and #N stays unique).
            await self.core.record_digest_post(destination.key, str(number), [i.paper_id for i in message.items],
                                               tag.day if tag else None)
        return PostResult(str(number))

    async def find_digest(self, destination: Destination, message: Message, tag: DigestTag) -> PostResult | None:
        found = await self.core.find_digest_post(destination.key, tag.day)
        return PostResult(*found) if found is not None else None
