"""`paperboy config check`."""

from __future__ import annotations

import asyncio
import sys

import typer
from pydantic import ValidationError

config_cli = typer.Typer(no_args_is_help=True, help="Configuration.")


def register(cli: typer.Typer) -> None:
    cli.add_typer(config_cli, name="config")

    @config_cli.command("check")
    def check() -> None:
        """Validate the configuration without sending any message, and say what `paperboy run` will start."""
        from bot.cli import settings_from_cli
        from bot.config_check import run_checks

        try:
            settings = settings_from_cli()
        except ValidationError as exc:
            for error in exc.errors():
                name = ".".join(str(p) for p in error["loc"]).upper()
                print(f"PAPERBOY_{name}: {error['msg']}", file=sys.stderr)
            raise typer.Exit(1) from None
        report = asyncio.run(run_checks(settings))
        for line in report.plan:
            print(f"ok   {line}")
        for problem in report.problems:
            print(f"FAIL {problem}", file=sys.stderr)
        if report.problems:
            raise typer.Exit(1)
        print("configuration ok")
