"""Registering the slash commands with Discord and the link that adds the bot to a server.

Commands are synced only on request (`paperboy discord sync`): Discord allows 200 command creates per day per
guild, so syncing on every start would lock a busy deployment out. A guild sync shows up at once (for
testing); a global sync can take a while to reach every server.
"""

from __future__ import annotations

import discord

from adapters.discord.discord_adapter import DiscordAdapter, DiscordOptions, make_client
from bot.commands.command_core import CommandCore

SCOPES = ("bot", "applications.commands")


def bot_permissions() -> discord.Permissions:
    """Exactly what the adapter uses: read and post in channels and threads, embeds, and open digest threads."""
    return discord.Permissions(view_channel=True, send_messages=True, send_messages_in_threads=True,
                               create_public_threads=True, embed_links=True, read_message_history=True)


def invite_url(client_id: str) -> str:
    return discord.utils.oauth_url(client_id, permissions=bot_permissions(), scopes=SCOPES)


async def sync_commands(core: CommandCore, token: str, guild_id: int | None, *, clear: bool = False) -> list[str]:
    """Log in over REST only (no gateway), register the command tree, and return the synced names. With
    `clear`, register nothing instead: Discord then removes every command of that scope (a test server's
    guild commands, which would otherwise show twice next to the global ones)."""
    client = make_client(DiscordOptions(sharded=False))
    adapter = DiscordAdapter(core, client)
    async with client:
        await client.login(token)
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            adapter.tree.clear_commands(guild=guild)
            if not clear:
                adapter.tree.copy_global_to(guild=guild)
            synced = await adapter.tree.sync(guild=guild)
        elif clear:
            adapter.tree.clear_commands(guild=None)
            synced = await adapter.tree.sync()
        else:
            synced = await adapter.tree.sync()
    return [command.name for command in synced]
