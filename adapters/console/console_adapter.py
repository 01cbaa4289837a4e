"""A chat channel in the terminal: commands in, numbered bot messages out, `reply N TEXT` for threads.

Messages that list papers get a number stored with the papers they listed, so `reply 3 summarize 2` works
in a later session too — the same guarantee Slack and Discord threads get.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from adapters.console.console_renderer import render_reply
from bot.commands.command_core import CommandCore, error_reply
from bot.commands.context import ChatContext
from bot.feedback.feedback_commands import is_personal_ref
from bot.messages import Message, Reply, Visibility

PLATFORM = "console"
WORKSPACE = "local"
PROMPT_HELP = ("Type a command (/papers today, /papers help, /subscribe TOPIC …), "
               "`reply N TEXT` to answer in the thread of message #N (`reply @N TEXT`: of #N in your own "
               "digest, printed under — @you —), or `quit`.")


def _yours(message: Message) -> bool:
    """Whether a list is the person's own (its buttons judge for them, see `personal_items`)."""
    return any(is_personal_ref(a.paper_ref) for item in message.items for a in item.actions)


class ConsoleAdapter:
    def __init__(self, core: CommandCore, *, channel: str = "general", user: str = "you",
                 write: Callable[[str], None] | None = None, numbers: asyncio.Lock | None = None) -> None:
        """`numbers`: the lock the process's digest poster numbers under (`ConsolePoster.numbers`); a digest's number
        is logged before its delivery records it, so a command numbered meanwhile would take it."""
        self.core = core
        self._numbers = numbers or asyncio.Lock()
        self.channel = channel
        self.user = user
        self._write = write or (lambda text: print(text, flush=True))

    def context(self, *, thread: int | None = None, mentioned: bool = False, dm: bool = False) -> ChatContext:
        """`dm`: the person's direct messages with the bot, where their own digest is printed (as @user)."""
        channel = f"@{self.user}" if dm else self.channel
        return ChatContext(PLATFORM, WORKSPACE, channel, self.user, channel_name=channel,
                           thread_ref=str(thread) if thread is not None else None, mentioned=mentioned, direct=dm)

    async def show(self, reply: Reply, *, thread: int | None = None, kind: str = "list") -> int | None:
        """Print a reply; a message listing papers is numbered and remembered for its thread."""
        number = None
        if reply.paper_ids and thread is None and _yours(reply.message):  # a preview of the person's digest
            reply = replace(reply, message=await self._numbered_as_yours(reply.message))
        elif reply.paper_ids and thread is None:
            async with self._numbers:
                number = await self.core.record_console_message(self.context(), reply, kind=kind)
        self._write(render_reply(reply, number, thread))
        if reply.private is not None:  # the "for you" part: marked as seen by the asker only
            private = reply.private
            if private.items and thread is None:
                private = await self._numbered_as_yours(private)
            self._write(render_reply(Reply(private, Visibility.EPHEMERAL), None, thread))
        return number

    async def _numbered_as_yours(self, message: Message) -> Message:
        """A list of the person's own, numbered among their own messages (`reply @N more 2`): replies under it
        teach their topics, where a number in the channel would have taught the channel's."""
        dm = self.context(dm=True)
        async with self._numbers:
            mine = await self.core.record_console_message(dm, Reply(message), kind="list")
        return replace(message, context=[*message.context, f"[@{mine}] reply @{mine} more 2 / less 2: "
                                         "teaches your own topics"])

    async def post(self, message: Message, *, kind: str = "digest") -> str:
        """Used by digests: post to this channel, return the message ref."""
        number = await self.show(Reply(message), kind=kind)
        return str(number) if number is not None else "-"

    async def say(self, text: str, *, thread: int | None = None, dm: bool = False) -> int | None:
        """One line from the user: a command, or with `thread` a reply in that message's thread (with `dm`, a
        message of their own digest)."""
        if thread is not None:
            ctx = self.context(thread=thread, mentioned="@paperboy" in text.lower(), dm=dm)
            reply = await self.core.handle_thread_message(ctx, text)
            if reply is None:
                where = f"your message @{thread}" if dm else f"message #{thread}"  # as the user numbered it
                reply = error_reply(f"(no answer: {where} lists no papers, or this is not a request; "
                                    "try “summarize 1” or a question ending with “?”)")
            return await self.show(reply, thread=thread)
        return await self.show(await self.core.handle_text(self.context(), text))

    async def handle_line(self, line: str) -> bool:
        """One console line; False when the user wants to leave."""
        text = line.strip()
        if not text:
            return True
        lowered = text.lower()
        if lowered in ("quit", "exit", ":q"):
            return False
        if lowered in ("help", "?"):
            self._write(PROMPT_HELP)
            return True
        if lowered.startswith("reply "):
            _, _, rest = text.partition(" ")
            number, _, message = rest.strip().partition(" ")
            digits = number.lstrip("@#")
            if not (digits.isascii() and digits.isdigit()) or not message.strip():
                self._write("Usage: reply N TEXT (N is the number shown as [#N]; @N for your own digest)")
                return True
            await self.say(message, thread=int(digits), dm=number.startswith("@"))
            return True
        await self.say(text)
        return True

    async def run(self, stdin: TextIO = sys.stdin) -> None:
        """The interactive loop; reading happens in a thread so the event loop stays free. A daemon thread of its
        own, not `asyncio.to_thread`: at Ctrl-C or SIGTERM the loop's shutdown waits for its executor's threads,
        and one blocked reading a terminal kept the process (after "stopped cleanly") until Enter was pressed."""
        import threading

        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def read() -> None:
            while True:
                try:
                    line = stdin.readline()
                except (OSError, ValueError):  # closed under us
                    line = ""
                try:
                    loop.call_soon_threadsafe(lines.put_nowait, line)
                except RuntimeError:  # the loop is gone: nobody is listening any more
                    return
                if not line:
                    return

        threading.Thread(target=read, name="console-input", daemon=True).start()
        self._write(PROMPT_HELP)
        while True:
            self._write_prompt()
            line = await lines.get()
            if not line:
                return
            if not await self.handle_line(line):
                return

    def _write_prompt(self) -> None:
        sys.stdout.write(f"#{self.channel}> ")
        sys.stdout.flush()
