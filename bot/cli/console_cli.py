"""`paperboy console`, `paperboy say` and `paperboy demo`: the console adapter on the command line."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from adapters.console.console_adapter import ConsoleAdapter
from bot.app import App, build_command_core
from bot.cli.common import console_channel, console_user, fail, out, run
from bot.ingestion.ingest_service import sample_sources
from storage.paper_store import IngestCounts, latest_day

DEMO_CHANNEL = "demo"
DEMO_TOPICS = ("diffusion models", "reinforcement learning", "knowledge distillation")

ChannelOption = Annotated[str, typer.Option("--channel", help="Channel name (one word; a leading # is dropped).",
                                            callback=console_channel)]
UserOption = Annotated[str, typer.Option("--user", help="Who is typing.", callback=console_user)]


def register(cli: typer.Typer) -> None:
    @cli.command()
    def console(channel: ChannelOption = "general", user: UserOption = "you") -> None:
        """Chat with Paperboy in the terminal: /papers today, /subscribe TOPIC, reply N TEXT …"""

        async def go(app: App) -> None:
            await ConsoleAdapter(build_command_core(app), channel=channel, user=user).run()

        run(go)

    @cli.command()
    def say(
        text: Annotated[str, typer.Argument(help="A command (\"/papers today\") or, with --thread, a reply.")],
        channel: ChannelOption = "general",
        user: UserOption = "you",
        thread: Annotated[int | None, typer.Option("--thread", help="Reply in the thread of message #N.")] = None,
        dm: Annotated[bool, typer.Option("--dm", help="With --thread: #N of your own digest (printed as @USER).")]
        = False,
    ) -> None:
        """Run one command (or thread reply) and print the answer, for scripts; exit status 2 when the bot refused
        it or had no answer (a bad time, an unknown paper, no such thread), as for every command's bad input."""
        if len(text) > 100_000:
            raise fail("that is too long")
        if dm and thread is None:
            raise fail("--dm goes with --thread N (a message of your own digest)")
        outcomes: list[str] = []

        async def go(app: App) -> None:
            core = build_command_core(app)
            core.on_command = lambda _command, outcome, _seconds: outcomes.append(outcome)
            await ConsoleAdapter(core, channel=channel, user=user).say(text, thread=thread, dm=dm)

        run(go)
        if any(outcome != "ok" for outcome in outcomes):
            raise typer.Exit(2)

    @cli.command()
    def demo() -> None:
        """Try Paperboy offline: ingest the bundled sample, follow a few topics in #demo, post the digest of the
        sample's latest day, chat (`console --channel demo` comes back to it)."""
        from bot.digests.digest_composer import plan_digest, render_digest

        async def go(app: App) -> None:
            total = IngestCounts()
            for source in sample_sources():
                total.add(await app.ingestor.ingest(source))
            out.print(f"Ingested the bundled sample: {total.total} papers ({total.new} new) into "
                      f"{app.db.describe()}", markup=False)
            core = build_command_core(app)
            adapter = ConsoleAdapter(core, channel=DEMO_CHANNEL, user="demo")
            for topic in DEMO_TOPICS:
                await core.handle_text(adapter.context(), f"/subscribe {topic}")
            out.print(f"#{DEMO_CHANNEL} follows: {', '.join(DEMO_TOPICS)}\n", markup=False)
            async with app.db.session() as session:
                day = await latest_day(session, app.today())
                if day is not None:
                    plan = await plan_digest(session, core.services.matcher, adapter.context().channel_scope,
                                             adapter.context().destination, day, exclude_posted=False)
            if day is not None:
                await adapter.post(await render_digest(plan, app.summaries, platform="console"))
            if sys.stdin.isatty():
                await adapter.run()

        run(go)
