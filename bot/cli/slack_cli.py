"""`paperboy slack check`: are the Slack settings complete, and does Slack accept the bot token (auth.test) and,
for Socket Mode, the app token (apps.connections.open)?"""

from __future__ import annotations

import asyncio

import typer

from adapters.slack.slack_poster import make_web_client
from adapters.slack.slack_runtime import TokenCheck, check_tokens
from bot.cli.common import fail, out, settings_from_cli
from bot.cli.connectors import slack_credentials
from bot.errors import PaperboyError


def register(cli: typer.Typer) -> None:
    slack = typer.Typer(help="The Slack adapter.", no_args_is_help=True)
    cli.add_typer(slack, name="slack")

    @slack.command()
    def check() -> None:
        """Check SLACK_* settings and ask Slack about the tokens: auth.test, apps.connections.open (secrets are
        never printed)."""
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

        async def ask_slack() -> TokenCheck:
            client = make_web_client(creds.bot_token, base_url=creds.api_base_url)
            return await check_tokens(client, creds, socket_mode=creds.socket_mode and not creds.oauth)

        try:
            checked = asyncio.run(ask_slack())
        except PaperboyError as exc:  # one line naming the variable, never the token
            raise fail(str(exc)) from None
        info = checked.bot
        out.print(f"ok: bot @{info['user']} ({info['user_id']}) in {info['team']} ({info['team_id']})", markup=False)
        if checked.socket_url is not None:
            out.print("ok: SLACK_APP_TOKEN accepted (apps.connections.open)", markup=False)
