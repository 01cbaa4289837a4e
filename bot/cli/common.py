"""What every command group shares: settings (with the `--db` override), one-line failures, running the app.

Every expected failure (`PaperboyError`) becomes one line on stderr and exit status 2; nothing prints a
traceback unless `PAPERBOY_DEBUG` is set.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from bot.app import App, open_app
from bot.config import Settings, settings_problems
from bot.destination import console_name
from bot.errors import PaperboyError
from bot.redaction import mask_url_credentials

T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def settings_from_cli() -> Settings:
    """Settings from the environment and .env (`paperboy --db URL` is `PAPERBOY_DATABASE_URL` for the process).
    A bad setting is one line naming its variable and exit status 2, for every command."""
    try:
        return Settings()
    except ValidationError as exc:
        for line in settings_problems(exc):
            print(f"error: {line}", file=sys.stderr)
        raise typer.Exit(2) from None


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line for the user and hand back the exit to raise."""
    print(f"error: {mask_url_credentials(message)}", file=sys.stderr)
    return typer.Exit(code)


def run(command: Callable[[App], Coroutine[Any, Any, T]], settings: Settings | None = None) -> T:
    """Open the app, run one async command, and turn expected failures into one line and exit status 2."""

    settings = settings or settings_from_cli()

    async def main() -> T:
        async with open_app(settings) as app:
            return await command(app)

    try:
        return asyncio.run(main())
    except PaperboyError as exc:
        if os.environ.get("PAPERBOY_DEBUG"):
            raise
        raise fail(str(exc)) from None


def parse_date_option(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"not a date: {value[:40]!r} (use YYYY-MM-DD)") from None


def console_channel(value: str | None) -> str | None:
    """`--channel` of the commands that act as a console channel: the rule PAPERBOY_CONSOLE_CHANNEL follows (the
    value is not echoed: it may be an escape sequence)."""
    return _console_name("--channel", value, channel=True)


def console_user(value: str | None) -> str | None:
    """`--user` of the commands that act as a console user."""
    return _console_name("--user", value, channel=False)


def _console_name(option: str, value: str | None, *, channel: bool) -> str | None:
    if value is None:
        return None
    try:
        return console_name(value, channel=channel)
    except ValueError as exc:
        raise fail(f"{option}: {exc}") from None
