"""Discord's app commands, built from `bot.commands.command_table`: names, descriptions, option names, limits,
choices, the personal flag and privacy all come from the table, so a new table entry is a new Discord command.
An entry marked `own_command` (the channel's digest settings) becomes a top-level command of its own, so admins
can restrict it in Server Settings → Integrations without hiding `/papers today`. It is declared with
`default_member_permissions` = Manage Channels unless it also has a personal flag (`/digest personal:true` is every
member's own DM digest, which a default permission would hide from them); either way the adapter refuses a
channel-wide change to anyone without Manage Channels.

No `from __future__ import annotations` here: discord.py reads the option types from the callbacks'
annotations, which are built from the table when each command is made.
"""

from typing import Any, Protocol

import discord
from discord import app_commands

from bot.commands.command_table import TABLE, Argument, CommandSpec, SlashCommand

AppCommand = app_commands.Command[Any, ..., Any]


class Bridge(Protocol):
    """What the commands call on the adapter (`DiscordAdapter`)."""

    async def run_spec(self, interaction: discord.Interaction, entry: CommandSpec, args: str) -> None: ...

    async def topic_choices(self, interaction: discord.Interaction,
                            current: str) -> list[app_commands.Choice[str]]: ...


def _with_flag(value: str, personal: bool) -> str:
    return f"--me {value}" if personal else value


def _callback(bridge: Bridge, entry: CommandSpec, argument: Argument | None):  # type: ignore[no-untyped-def]
    """The coroutine discord.py calls, with the option the table declares (named `value`, renamed below)."""
    if argument is None:
        async def no_option(interaction: discord.Interaction) -> None:
            await bridge.run_spec(interaction, entry, "")

        return no_option
    text = str if argument.choices else app_commands.Range[str, 1 if argument.required else 0, argument.max_chars]
    if entry.personal_option and argument.required:
        async def with_flag(interaction: discord.Interaction, value: text, personal: bool = False) -> None:  # type: ignore[valid-type]
            await bridge.run_spec(interaction, entry, _with_flag(value, personal))

        return with_flag
    if entry.personal_option:
        async def optional_with_flag(interaction: discord.Interaction, value: text = argument.default,  # type: ignore[valid-type]
                                     personal: bool = False) -> None:
            await bridge.run_spec(interaction, entry, _with_flag(value, personal).strip())

        return optional_with_flag
    if argument.required:
        async def required(interaction: discord.Interaction, value: text) -> None:  # type: ignore[valid-type]
            await bridge.run_spec(interaction, entry, value)

        return required

    async def optional(interaction: discord.Interaction, value: text = argument.default) -> None:  # type: ignore[valid-type]
        await bridge.run_spec(interaction, entry, value)

    return optional


def command_for(bridge: Bridge, entry: CommandSpec, *, top_level: bool) -> AppCommand:
    if len(entry.arguments) > 1:
        raise ValueError(f"/{entry.name} {entry.sub}: Discord commands take at most one option here")
    argument = entry.arguments[0] if entry.arguments else None
    callback = _callback(bridge, entry, argument)
    if argument is not None:
        described = {"value": argument.description}
        if entry.personal_option:
            described["personal"] = entry.personal_option
        callback = app_commands.describe(**described)(callback)
        callback = app_commands.rename(value=argument.name)(callback)
        if argument.choices:
            callback = app_commands.choices(value=[app_commands.Choice(name=c, value=c)
                                                   for c in argument.choices])(callback)
    if top_level:
        callback = app_commands.guild_only()(callback)  # `contexts: [0]` (guilds), not the deprecated dm_permission
        if entry.own_command and not entry.personal_option:
            callback = app_commands.default_permissions(manage_channels=True)(callback)
    name = entry.sub if entry.sub is not None else entry.name
    command: AppCommand = app_commands.Command(name=name, description=entry.description[:100], callback=callback)
    if argument is not None and argument.suggest_followed_topics:
        async def suggest(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return await bridge.topic_choices(interaction, current)

        command.autocomplete("value")(suggest)
    return command


class CommandGroup(app_commands.Group):
    """A slash command with subcommands (/papers today, /papers top …), one subcommand per table entry."""

    def __init__(self, bridge: Bridge, command: SlashCommand) -> None:
        super().__init__(name=command.name, description=command.group_description[:100], guild_only=True,
                         allowed_contexts=app_commands.AppCommandContext(guild=True))
        for entry in command.entries:
            if not entry.own_command:
                self.add_command(command_for(bridge, entry, top_level=False))


def app_commands_for(bridge: Bridge) -> list[AppCommand | app_commands.Group]:
    """Every command of the table, bound to one adapter."""
    commands: list[AppCommand | app_commands.Group] = []
    for command in TABLE:
        if any(entry.sub is not None for entry in command.entries):
            commands.append(CommandGroup(bridge, command))
            # Channel settings (/digest) as commands of their own: an admin can restrict them in Integrations
            # without hiding /papers today from everyone.
            commands += [command_for(bridge, entry, top_level=True) for entry in command.entries if entry.own_command]
        else:
            (entry,) = command.entries
            commands.append(command_for(bridge, entry, top_level=True))
    return commands
