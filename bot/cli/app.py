"""The `paperboy` typer app: the root options and one `register` per command group.

The Slack and Discord groups load their SDKs (slack-bolt, discord.py) only when used: every other command
starts fast, and nothing outside this package and `adapters/` imports a platform library.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

from bot.cli import config, console_cli, digests, followups, papers, run, summaries, topics

# Platform groups: module and the help shown while the group is not loaded.
PLATFORM_GROUPS = {
    "slack": ("bot.cli.slack_cli", "The Slack adapter: check the configuration."),
    "discord": ("bot.cli.discord_cli", "The Discord adapter: sync commands, invite URL."),
}


def _root(
    db: Annotated[str | None, typer.Option("--db", help="Database URL (sqlite:///file or postgresql://…); "
                                           "default: $PAPERBOY_DATABASE_URL or a file in your data directory.")]
    = None,
) -> None:
    """The root options. `--db` overrides PAPERBOY_DATABASE_URL the one way every setting is read: the
    environment of this process (no module-level state to reset between commands)."""
    if db:
        os.environ["PAPERBOY_DATABASE_URL"] = db


def build_cli(platform: str | None = None) -> typer.Typer:
    """The whole command line; `platform` names the platform group to load for real (the others stay stubs)."""
    cli = typer.Typer(
        name="paperboy", no_args_is_help=True, add_completion=False,
        help="Daily research papers, matched to your team's topics, in Slack and Discord.",
    )
    cli.callback()(_root)
    for group in (papers, topics, summaries, console_cli, digests, followups, run, config):
        group.register(cli)
    for name, (module, help_text) in PLATFORM_GROUPS.items():
        if name == platform:
            importlib.import_module(module).register(cli)
        else:
            cli.add_typer(typer.Typer(help=help_text), name=name)
    return cli


def main() -> None:
    build_cli(sys.argv[1] if len(sys.argv) > 1 else None)()
