"""Digests posted to the console: printed with their number, so `reply N …` works on them like any post.

The terminal keeps no history that could be searched later, so the console keeps a delivery log instead: each
tagged digest is logged (and committed) before it is printed. A later attempt at the same delivery finds it
there (`find_digest`), and a repeated post of the same tag is refused by the log itself, never printed twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from adapters.console.console_renderer import render_reply
from bot.commands.command_core import CommandCore
from bot.destination import Destination
from bot.digests.poster import DigestTag, PostResult
from bot.followups.poster import ThreadTarget
from bot.messages import Message, Reply


class ConsolePoster:
    def __init__(self, core: CommandCore, write: Callable[[str], None] | None = None) -> None:
        self.core = core
        self._write = write or (lambda text: print(text, flush=True))
        self.numbers = asyncio.Lock()  # numbers are handed out one post at a time (the console's commands too)

    async def post_digest(self, destination: Destination, message: Message, *,
                          tag: DigestTag | None = None, resume: PostResult | None = None) -> PostResult:
        """The console posts a digest whole (`resume` never comes: what it finds lists everything)."""
        async with self.numbers:
            if tag is not None:
                number, logged = await self.core.number_console_digest(destination.key, tag.token,
                                                                       Reply(message).paper_ids, tag.day)
                if not logged:
                    return PostResult(str(number))
            else:
                number = await self.core.next_message_number(destination.key)
            where = f"@{destination.user}" if destination.user else f"#{destination.channel}"  # a DM digest: @USER
            self._write(f"— {where} —\n" + render_reply(Reply(message), number))
        return PostResult(str(number))

    async def find_digest(self, destination: Destination, tag: DigestTag) -> PostResult | None:
        number = await self.core.find_console_digest(tag.token)
        return PostResult(str(number)) if number is not None else None

    async def post_followup(self, destination: Destination, target: ThreadTarget, message: Message) -> str:
        """A follow-up printed in the thread of the digest's number, logged under its tag first (like a digest),
        so a retry after a crash never prints it twice."""
        thread = int(target.message_ref) if target.message_ref.isdigit() else 0
        async with self.numbers:
            _, logged = await self.core.log_console_digest(destination.key, target.tag, thread)
            if logged:
                reply = render_reply(Reply(message, in_thread=True), None, thread)
                self._write(f"— #{destination.channel} —\n" + reply)
        return f"{target.message_ref}:{target.tag}"

    async def find_followup(self, destination: Destination, target: ThreadTarget) -> str | None:
        number = await self.core.find_console_digest(target.tag)
        return f"{target.message_ref}:{target.tag}" if number is not None else None
