"""`paperboy discord sync [--guild ID]` and `paperboy discord invite-url`.

Commands are synced only from here: Discord allows 200 command creates per day per guild, so syncing on every
start would lock a busy deployment out. A guild sync shows up at once (for testing); a global sync can take a
while to reach every server.
"""

from __future__ import annotations

from typing import Annotated

import discord
import typer

from adapters.discord.discord_adapter import DiscordAdapter, DiscordOptions, make_client
from bot.commands.command_core import CommandCore

SCOPES = ("bot", "applications.commands")


def bot_permissions() -> discord.Permissions:
    """Exactly what the adapter uses: read and post in channels and threads, embeds, and open digest threads."""
    return discord.Permissions(view_channel=True, send_messages=True, send_messages_in_threads=True,
                               create_public_threads=True, embed_links=True, read_message_history=True)


def invite_url(client_id: str) -> str:
    return discord.utils.oauth_url(client_id, permissions=bot_permissions(), scopes=SCOPES)


async def sync_commands(core: CommandCore, token: str, guild_id: int | None) -> list[str]:
    """Log in over REST only (no gateway), register the command tree, and return the synced names."""
    client = make_client(DiscordOptions(sharded=False))
    adapter = DiscordAdapter(core, client)
    async with client:
        await client.login(token)
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            adapter.tree.copy_global_to(guild=guild)
            synced = await adapter.tree.sync(guild=guild)
        else:
            synced = await adapter.tree.sync()
    return [command.name for command in synced]


def register(cli: typer.Typer) -> None:
    from bot.app import App, build_command_core
    from bot.cli import fail, out, run

    discord_cli = typer.Typer(no_args_is_help=True, help="Discord: sync the slash commands, print the invite link.")
    cli.add_typer(discord_cli, name="discord")

    @discord_cli.command("sync")
    def sync(guild: Annotated[int | None, typer.Option(
            "--guild", help="Sync to one server only (instant; for testing). Default: globally.", min=1)] = None,
    ) -> None:
        """Register /papers, /subscribe, /unsubscribe and /subscriptions with Discord (run after upgrades)."""
        options = DiscordOptions()
        if options.token is None or not options.token.get_secret_value():
            raise fail("set PAPERBOY_DISCORD_TOKEN (or DISCORD_TOKEN) to the bot token first")
        token = options.token.get_secret_value()

        async def go(app: App) -> list[str]:
            try:
                return await sync_commands(build_command_core(app), token, guild)
            except discord.LoginFailure:
                raise fail("Discord refused the token (is it the bot token from the Bot page?)") from None
            except discord.HTTPException as exc:
                raise fail(f"Discord refused the sync ({exc.status}): {exc.text[:200]}") from None

        names = run(go)
        where = f"server {guild}" if guild is not None else "all servers (may take a while to appear)"
        out.print(f"Synced {len(names)} commands to {where}: " + ", ".join(f"/{n}" for n in names), markup=False)

    @discord_cli.command("invite-url")
    def invite() -> None:
        """Print the link that adds Paperboy to a server, with the scopes and permissions it needs."""
        options = DiscordOptions()
        if not options.application_id or not options.application_id.strip().isdigit():
            raise fail("set PAPERBOY_DISCORD_APPLICATION_ID (the application id from the developer portal)")
        out.print(invite_url(options.application_id.strip()), markup=False, soft_wrap=True)
