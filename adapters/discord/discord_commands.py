"""Discord's app commands, derived from `bot.commands.command_table`: names, descriptions, option limits,
choices and privacy come from the table; discord.py reads the option types from these signatures.

No `from __future__ import annotations` here: discord.py evaluates these annotations, and the limits in them
are read from the table when the module loads.
"""

from typing import Protocol

import discord
from discord import app_commands

from bot.commands.command_table import CommandSpec, slash_command, spec

TODAY, TOP, SEARCH, SHOW, WHY, DIGEST, HELP = (spec("papers", sub) for sub in
                                              ("today", "top", "search", "show", "why", "digest", "help"))
SUBSCRIBE, UNSUBSCRIBE, SUBSCRIPTIONS = spec("subscribe"), spec("unsubscribe"), spec("subscriptions")
PERIOD = TOP.arguments[0]
SEARCH_MAX = SEARCH.arguments[0].max_chars
PAPER_MAX = SHOW.arguments[0].max_chars
SETTING_MAX = DIGEST.arguments[0].max_chars
TOPIC_MAX = SUBSCRIBE.arguments[0].max_chars
PERSONAL = "Only for you (default: the whole channel)"


class Bridge(Protocol):
    """What the commands call on the adapter (`DiscordAdapter`)."""

    async def run_spec(self, interaction: discord.Interaction, entry: CommandSpec, args: str) -> None: ...

    async def topic_choices(self, interaction: discord.Interaction,
                            current: str) -> list[app_commands.Choice[str]]: ...


def _sub(entry: CommandSpec) -> str:
    assert entry.sub is not None
    return entry.sub


def _describe(entry: CommandSpec) -> str:
    return entry.description[:100]


class PapersGroup(app_commands.Group):
    """/papers and its subcommands."""

    def __init__(self, bridge: Bridge) -> None:
        command = slash_command("papers")
        assert command is not None
        super().__init__(name=command.name, description=command.group_description, guild_only=True)
        self.bridge = bridge

    @app_commands.command(name=_sub(TODAY), description=_describe(TODAY))
    async def today(self, interaction: discord.Interaction) -> None:
        await self.bridge.run_spec(interaction, TODAY, "")

    @app_commands.command(name=_sub(TOP), description=_describe(TOP))
    @app_commands.describe(period=PERIOD.description)
    @app_commands.choices(period=[app_commands.Choice(name=c, value=c) for c in PERIOD.choices])
    async def top(self, interaction: discord.Interaction, period: str = PERIOD.default) -> None:
        await self.bridge.run_spec(interaction, TOP, period)

    @app_commands.command(name=_sub(SEARCH), description=_describe(SEARCH))
    @app_commands.describe(query=SEARCH.arguments[0].description)
    async def search(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, SEARCH_MAX]) -> None:
        await self.bridge.run_spec(interaction, SEARCH, query)

    @app_commands.command(name=_sub(SHOW), description=_describe(SHOW))
    @app_commands.describe(paper=SHOW.arguments[0].description)
    async def show(self, interaction: discord.Interaction, paper: app_commands.Range[str, 1, PAPER_MAX]) -> None:
        await self.bridge.run_spec(interaction, SHOW, paper)

    @app_commands.command(name=_sub(WHY), description=_describe(WHY))
    @app_commands.describe(paper=WHY.arguments[0].description)
    async def why(self, interaction: discord.Interaction, paper: app_commands.Range[str, 1, PAPER_MAX]) -> None:
        await self.bridge.run_spec(interaction, WHY, paper)

    @app_commands.command(name=_sub(DIGEST), description=_describe(DIGEST))
    @app_commands.describe(setting=DIGEST.arguments[0].description)
    async def digest(self, interaction: discord.Interaction,
                     setting: app_commands.Range[str, 0, SETTING_MAX] = "") -> None:
        await self.bridge.run_spec(interaction, DIGEST, setting)

    @app_commands.command(name=_sub(HELP), description=_describe(HELP))
    async def help_(self, interaction: discord.Interaction) -> None:
        await self.bridge.run_spec(interaction, HELP, "")


def _personal(topic: str, personal: bool) -> str:
    return f"--me {topic}" if personal else topic


def app_commands_for(bridge: Bridge) -> list[app_commands.Command | app_commands.Group]:  # type: ignore[type-arg]
    """Every command of the table, bound to one adapter."""

    @app_commands.command(name=SUBSCRIBE.name, description=_describe(SUBSCRIBE))
    @app_commands.guild_only()
    @app_commands.describe(topic=SUBSCRIBE.arguments[0].description, personal=PERSONAL)
    async def subscribe(interaction: discord.Interaction, topic: app_commands.Range[str, 1, TOPIC_MAX],
                        personal: bool = False) -> None:
        await bridge.run_spec(interaction, SUBSCRIBE, _personal(topic, personal))

    @app_commands.command(name=UNSUBSCRIBE.name, description=_describe(UNSUBSCRIBE))
    @app_commands.guild_only()
    @app_commands.describe(topic=UNSUBSCRIBE.arguments[0].description, personal="From your personal list")
    async def unsubscribe(interaction: discord.Interaction, topic: app_commands.Range[str, 1, TOPIC_MAX],
                          personal: bool = False) -> None:
        await bridge.run_spec(interaction, UNSUBSCRIBE, _personal(topic, personal))

    @unsubscribe.autocomplete("topic")
    async def unsubscribe_topics(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await bridge.topic_choices(interaction, current)

    @app_commands.command(name=SUBSCRIPTIONS.name, description=_describe(SUBSCRIPTIONS))
    @app_commands.guild_only()
    async def subscriptions(interaction: discord.Interaction) -> None:
        await bridge.run_spec(interaction, SUBSCRIPTIONS, "")

    return [PapersGroup(bridge), subscribe, unsubscribe, subscriptions]
