"""`paperboy slack check`: are the Slack settings complete, and does Slack accept the bot token?"""

from __future__ import annotations

import asyncio

import typer

from adapters.slack.slack_poster import make_web_client
from bot.cli.common import fail, out, settings_from_cli
from bot.cli.connectors import slack_credentials


def register(cli: typer.Typer) -> None:
    slack = typer.Typer(help="The Slack adapter.", no_args_is_help=True)
    cli.add_typer(slack, name="slack")

    @slack.command()
    def check() -> None:
        """Check SLACK_* settings and call auth.test with the bot token (secrets are never printed)."""
        creds = slack_credentials(settings_from_cli())
        if creds is None:
            raise fail("Slack is not configured: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (see deploy/slack/README.md)")
        problems = creds.check()
        if problems:
            raise fail("; ".join(problems))
        mode = "HTTP + OAuth" if creds.oauth else ("Socket Mode" if creds.socket_mode else "HTTP, one workspace")
        out.print(f"mode: {mode}", markup=False)
        if creds.bot_token is None:
            out.print("OAuth: tokens come from installs (/slack/install); nothing to test yet.", markup=False)
            return

        async def auth_test() -> dict[str, str]:
            response = await make_web_client(creds.bot_token).auth_test()
            return {k: str(response.get(k, "")) for k in ("team", "team_id", "user", "user_id")}

        try:
            info = asyncio.run(auth_test())
        except Exception as exc:  # SlackApiError, network: one line, never the token
            raise fail(f"Slack rejected the bot token or is unreachable: {type(exc).__name__}") from None
        out.print(f"ok: bot @{info['user']} ({info['user_id']}) in {info['team']} ({info['team_id']})", markup=False)
