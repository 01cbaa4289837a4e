"""`paperboy config check`."""

from __future__ import annotations

import asyncio
import sys

import typer

from bot.cli.common import settings_from_cli


def register(cli: typer.Typer) -> None:
    config_cli = typer.Typer(no_args_is_help=True, help="Configuration.")
    cli.add_typer(config_cli, name="config")

    @config_cli.command("check")
    def check() -> None:
        """Validate the configuration without sending any message, and say what `paperboy run` will start."""
        from bot.config_check import run_checks

        settings = settings_from_cli()
        report = asyncio.run(run_checks(settings))
        for line in report.plan:
            print(f"ok   {line}")
        for warning in report.warnings:
            print(f"warn {warning}", file=sys.stderr)
        for problem in report.problems:
            print(f"FAIL {problem}", file=sys.stderr)
        if report.problems:
            raise typer.Exit(1)
        print("configuration ok" + (" (with warnings)" if report.warnings else ""))
