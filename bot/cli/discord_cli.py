"""`paperboy discord sync [--guild ID]` and `paperboy discord invite-url`.

Commands are synced only from here: Discord allows 200 command creates per day per guild, so syncing on every
start would lock a busy deployment out. A guild sync shows up at once (for testing); a global sync can take a
while to reach every server.
"""

from __future__ import annotations

import os
from typing import Annotated

import discord
import typer
from pydantic import AliasChoices

from adapters.discord.discord_adapter import point_at
from adapters.discord.discord_setup import invite_url, sync_commands
from bot.app import App, build_command_core
from bot.cli.common import fail, out, run, settings_from_cli
from bot.cli.connectors import discord_options
from bot.config import Settings

# Where the application id comes from, in the order settings read them (bot/config.py's aliases).
_ALIAS = Settings.model_fields["discord_application_id"].validation_alias
APPLICATION_ID_VARIABLES = tuple(c for c in _ALIAS.choices if isinstance(c, str)) if isinstance(
    _ALIAS, AliasChoices) else ("PAPERBOY_DISCORD_APPLICATION_ID",)


def register(cli: typer.Typer) -> None:
    discord_cli = typer.Typer(no_args_is_help=True, help="Discord: sync the slash commands, print the invite link.")
    cli.add_typer(discord_cli, name="discord")

    @discord_cli.command("sync")
    def sync(guild: Annotated[int | None, typer.Option(
            "--guild", help="Sync to one server only (instant; for testing). Default: globally.", min=1)] = None,
             clear: Annotated[bool, typer.Option(
            "--clear", help="Remove the commands instead (of that server with --guild, else the global ones).")]
             = False,
    ) -> None:
        """Register /papers, /digest, /subscribe, /unsubscribe and /subscriptions with Discord (after upgrades)."""
        options = discord_options(settings_from_cli())
        if options.token is None or not options.token.get_secret_value():
            raise fail("set PAPERBOY_DISCORD_TOKEN (or DISCORD_TOKEN) to the bot token first")
        token = options.token.get_secret_value()
        point_at(options.api_url, options.gateway_url)

        async def go(app: App) -> list[str]:
            try:
                return await sync_commands(build_command_core(app), token, guild, clear=clear)
            except discord.LoginFailure:
                raise fail("Discord refused the token (is it the bot token from the Bot page?)") from None
            except discord.HTTPException as exc:
                raise fail(f"Discord refused the sync ({exc.status}): {exc.text[:200]}") from None

        names = run(go)
        if clear:
            where = f"server {guild}" if guild is not None else "all servers (global commands)"
            out.print(f"Removed Paperboy's commands from {where}.", markup=False)
            return
        where = f"server {guild}" if guild is not None else "all servers (may take a while to appear)"
        out.print(f"Synced {len(names)} commands to {where}: " + ", ".join(f"/{n}" for n in names), markup=False)

    @discord_cli.command("invite-url")
    def invite() -> None:
        """Print the link that adds Paperboy to a server, with the scopes and permissions it needs."""
        options = discord_options(settings_from_cli())
        if not options.application_id or not options.application_id.strip():
            raise fail("set PAPERBOY_DISCORD_APPLICATION_ID (or DISCORD_APPLICATION_ID) to the Application ID from "
                       "the Developer Portal's General Information page")
        if not (options.application_id.strip().isascii() and options.application_id.strip().isdigit()):
            named = next((n for n in APPLICATION_ID_VARIABLES if os.environ.get(n)), APPLICATION_ID_VARIABLES[0])
            raise fail(f"{named} is not an application id: use the digits shown as Application ID on the Developer "
                       "Portal's General Information page")
        out.print(invite_url(options.application_id.strip()), markup=False, soft_wrap=True)
