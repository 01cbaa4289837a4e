"""The single entry point adapters call: commands, thread replies and button actions, with one error boundary.

Whatever goes wrong below, a chat gets a short, friendly line — a `PaperboyError`'s own message, or a generic
apology for a bug (logged with its traceback for operators, never shown).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.commands import paper_commands, thread_replies
from bot.commands.command_table import spec
from bot.commands.context import ChatContext
from bot.commands.grammar import Command, parse, split_command
from bot.commands.services import CoreServices
from bot.dedupe import DatabaseEventDeduper, Deduper
from bot.errors import PaperboyError, UsageError
from bot.feedback import feedback_commands
from bot.messages import ActionKind, Message, Reply, Visibility
from storage.delivery_store import (
    console_numbers_used,
    find_console_post,
    log_console_digest,
    log_console_post,
    record_console_message,
)
from storage.destination_store import get_destination, record_digest_parts, record_posted, touch
from storage.feedback_store import Votes
from storage.paper_store import find_paper
from storage.subscription_store import list_topics

log = logging.getLogger(__name__)
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."


def error_reply(text: str) -> Reply:
    return Reply(Message(text=text), Visibility.EPHEMERAL)


# Called once per request with (command, outcome, seconds); the composition root points it at the metrics.
CommandObserver = Callable[[str, str, float], None]


@dataclass
class _Call:
    """What a request turned out to be, named from the grammar's fixed vocabulary once it is parsed; a request
    that never parses stays "invalid", so no user text ever becomes a label."""

    command: str = "invalid"


def command_label(command: Command) -> str:
    return command.name if command.sub is None else f"{command.name} {command.sub}"


class CommandCore:
    def __init__(self, services: CoreServices, on_command: CommandObserver | None = None) -> None:
        self.services = services
        self.on_command = on_command

    async def _guard(self, call: _Call, work: Callable[[], Awaitable[Reply | None]]) -> Reply | None:
        started = time.perf_counter()
        outcome = "cancelled"  # shutting down mid-request
        try:
            reply = await work()
            outcome = "ok" if reply is not None else "ignored"
            return reply
        except PaperboyError as exc:
            outcome = "refused"
            return error_reply(str(exc))
        except Exception:
            outcome = "failed"
            log.exception("command failed")
            return error_reply(SORRY)
        finally:
            if self.on_command is not None:
                try:
                    self.on_command(call.command, outcome, time.perf_counter() - started)
                except Exception:
                    log.exception("recording command metrics failed")

    async def handle_text(self, ctx: ChatContext, text: str) -> Reply:
        """A whole command line as typed ("/papers search gnn"), for the console and scripts."""
        call = _Call()

        async def work() -> Reply:
            name, args = split_command(text)
            command = parse(name, args, ctx.platform)
            call.command = command_label(command)
            return await self._dispatch(ctx, command)

        reply = await self._guard(call, work)
        assert reply is not None
        return reply

    async def handle_command(self, ctx: ChatContext, name: str, args: str) -> Reply:
        """A slash command as platforms deliver it: its name and its argument text."""
        call = _Call()

        async def work() -> Reply:
            command = parse(name, args, ctx.platform)
            call.command = command_label(command)
            return await self._dispatch(ctx, command)

        reply = await self._guard(call, work)
        assert reply is not None
        return reply

    async def handle_thread_message(self, ctx: ChatContext, text: str) -> Reply | None:
        """A message in a thread under a bot post (or mentioning the bot there); None: not for us."""
        return await self._guard(_Call("thread reply"), lambda: thread_replies.thread_reply(self.services, ctx, text))

    async def handle_action(self, ctx: ChatContext, action: ActionKind | str, paper_ref: str) -> Reply:
        """A button under a paper: Summarize (answered in the thread) or Why."""
        call = _Call()

        async def work() -> Reply:
            kind = ActionKind(action)
            call.command = f"button {kind.value}"
            if kind is ActionKind.WHY:  # on a person's own list (its ref says so): why it matched their topics
                scope, ref = await feedback_commands.judging_scope(self.services, ctx, paper_ref)
                return await paper_commands.why(self.services, ctx, ref, scope)
            async with self.services.db.session() as session:
                paper = await find_paper(session, paper_ref)
            if paper is None:
                raise UsageError("that paper is no longer stored")
            return await thread_replies.summarize_paper(self.services, paper)

        reply = await self._guard(call, work)
        assert reply is not None
        return reply

    async def handle_judgement(self, ctx: ChatContext, paper_ref: str, relevant: bool) -> tuple[Reply, Votes | None]:
        """A 👍/👎 button under a paper: the clicker's verdict (a second click on the same button withdraws it),
        with the paper's counts in this channel for the message to show; None when it failed."""
        votes: list[Votes] = []

        async def work() -> Reply:
            reply, counted = await feedback_commands.toggle(self.services, ctx, paper_ref, relevant)
            votes.append(counted)
            return reply

        reply = await self._guard(_Call(f"button {'relevant' if relevant else 'not relevant'}"), work)
        assert reply is not None
        return reply, (votes[0] if votes else None)

    async def handle_start_topic(self, ctx: ChatContext, paper_ref: str) -> Reply:
        """"Start a topic like this": the confirmation a 👍 on a paper no topic matched offers (bot.feedback)."""
        async def work() -> Reply:
            return await feedback_commands.start_topic(self.services, ctx, paper_ref)

        reply = await self._guard(_Call("button start topic"), work)
        assert reply is not None
        return reply

    async def record_posted(self, ctx: ChatContext, reply: Reply, message_ref: str, *,
                            thread_ref: str | None = None, kind: str = "list") -> None:
        """Adapters call this after posting a reply that lists papers, so its thread can refer to them."""
        if not reply.paper_ids:
            return
        async with self.services.db.session() as session:
            await record_posted(session, ctx.destination, message_ref, reply.paper_ids, kind=kind,
                                thread_ref=thread_ref)

    async def record_digest_parts(self, destination: str, message_refs: list[str], paper_ids: list[int]) -> None:
        """A digest split over several messages: each continuation part lists the digest's papers too, so
        "summarize 12" works in the thread of any part."""
        async with self.services.db.session() as session:
            await record_digest_parts(session, destination, message_refs, paper_ids)

    async def turn_off_digest(self, destination: str) -> bool:
        """A destination that can never take its digest as set (a Discord forum, set before forums were refused)
        has it turned off, as `/papers digest off` would: it would otherwise fail every day for good. Whether it
        was on."""
        async with self.services.db.session() as session:
            found = await get_destination(session, destination)
            if found is None or not found.digest_enabled:
                return False
            found.digest_enabled = False
            touch(found)
        return True

    def event_deduper(self) -> Deduper:
        """The deduper shared by every bot process (in the database), for platforms that may deliver one event
        to several replicas."""
        return DatabaseEventDeduper(self.services.db)

    async def topic_choices(self, ctx: ChatContext, current: str, *, personal: bool = False,
                            limit: int = 25) -> list[str]:
        """Autocomplete for unsubscribing: the topics this channel (or the person) follows that contain `current`.
        Never fails: a suggestion list is not worth an error message."""
        scope = ctx.personal_scope if personal else ctx.channel_scope
        try:
            async with self.services.db.session() as session:
                topics = await list_topics(session, scope)
        except Exception:
            log.exception("topic autocomplete failed")
            return []
        needle = current.casefold().strip()
        return [t for t in topics if needle in t.casefold()][:limit]

    async def log_console_digest(self, destination: str, tag: str, number: int) -> tuple[int, bool]:
        """The console's delivery log (its platform keeps no history): a digest is logged under its delivery's
        tag before it is printed. Returns its number and whether this call logged it; False: an earlier attempt
        already printed it, under that number."""
        return await log_console_post(self.services.db, destination, tag, number)

    async def number_console_digest(self, destination: str, tag: str, paper_ids: Sequence[int],
                                    day: date) -> tuple[int, bool]:
        """A tagged digest's console number, taken, recorded with its papers and logged under its tag at once
        (against a command numbered by another process at the same moment). False: an earlier attempt printed
        it already, under that number."""
        return await log_console_digest(self.services.db, destination, tag, paper_ids, digest_day=day)

    async def find_console_digest(self, tag: str) -> int | None:
        """The number the console printed a tagged digest as, if an earlier attempt did."""
        async with self.services.db.session() as session:
            return await find_console_post(session, tag)

    async def record_console_message(self, ctx: ChatContext, reply: Reply, *, kind: str = "list") -> int:
        """The console's number for a message listing papers, taken and recorded at once (`next_message_number`
        then `record_posted` let two messages printed at the same moment share a number)."""
        async with self.services.db.session() as session:
            return await record_console_message(session, ctx.destination, reply.paper_ids, kind=kind)

    async def next_message_number(self, destination: str) -> int:
        """The console numbers its messages per channel, persistently: #N keeps meaning the same message (also
        a digest that was printed but whose delivery a killed process never completed)."""
        async with self.services.db.session() as session:
            return await console_numbers_used(session, destination) + 1

    async def _dispatch(self, ctx: ChatContext, command: Command) -> Reply:
        return await spec(command.name, command.sub).handler(self.services, ctx, command)
