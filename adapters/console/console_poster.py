"""Digests posted to the console: printed with their number, so `reply N …` works on them like any post."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from adapters.console.console_adapter import next_console_number
from adapters.console.console_renderer import render_reply
from bot.digests.poster import PostResult
from bot.messages import Message, Reply
from storage.database import Database
from storage.destination_models import Destination


class ConsolePoster:
    def __init__(self, db: Database, write: Callable[[str], None] | None = None) -> None:
        self.db = db
        self._write = write or (lambda text: print(text, flush=True))
        self._lock = asyncio.Lock()  # numbers are handed out one post at a time

    async def post_digest(self, destination: Destination, message: Message) -> PostResult:
        async with self._lock:
            number = await next_console_number(self.db, destination.key)
            self._write(f"— #{destination.channel} —\n" + render_reply(Reply(message), number))
        return PostResult(str(number))
