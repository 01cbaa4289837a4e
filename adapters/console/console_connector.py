"""`Connector` for the terminal: posts console destinations' digests, and reads the terminal when asked to."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import TextIO

from adapters.console.console_adapter import PLATFORM, ConsoleAdapter
from adapters.console.console_poster import ConsolePoster
from bot.commands.command_core import CommandCore


class ConsoleConnector:
    platform = PLATFORM

    def __init__(self, core: CommandCore, *, channel: str = "general", interactive: bool = False,
                 on_exit: Callable[[], None] | None = None, stdin: TextIO = sys.stdin,
                 write: Callable[[str], None] | None = None) -> None:
        self.poster = ConsolePoster(core, write=write)
        self.adapter = ConsoleAdapter(core, channel=channel, write=write, numbers=self.poster.numbers)
        self.interactive = interactive
        self._on_exit = on_exit
        self._stdin = stdin
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self.interactive:
            return
        self._task = asyncio.create_task(self.adapter.run(self._stdin), name="console")
        if self._on_exit is not None:
            on_exit = self._on_exit
            self._task.add_done_callback(lambda _task: on_exit())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def health(self) -> str | None:
        return None  # the terminal has no connection to lose
