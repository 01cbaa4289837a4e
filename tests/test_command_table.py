"""One table declares every chat command; the grammar, /papers help, Slack's manifest and Discord's command
tree must all say what it says."""

from __future__ import annotations

import re

import pytest

from adapters.discord.discord_adapter import DiscordAdapter, DiscordOptions, make_client
from bot.commands.command_table import COMMANDS, TABLE, help_text, spec, usage_line
from bot.commands.grammar import parse
from bot.errors import UsageError
from storage.database import Database
from tests.chat_fixtures import make_bot
from tests.cli_runner import ROOT


def manifest_commands() -> dict[str, dict[str, str]]:
    """The slash commands of deploy/slack/manifest.yml (a flat YAML list; read without a YAML library)."""
    text = (ROOT / "deploy/slack/manifest.yml").read_text()
    section = text.split("slash_commands:", 1)[1].split("\noauth_config:", 1)[0]
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in section.splitlines():
        m = re.match(r"^\s*-?\s*(command|description|usage_hint):\s*(.*)$", line)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip().strip('"')
        if key == "command":
            current = found.setdefault(value.lstrip("/"), {})
        current[key] = value
    return found


def manifest_scopes() -> list[str]:
    """The bot scopes deploy/slack/manifest.yml asks for, in its order."""
    lines = (ROOT / "deploy/slack/manifest.yml").read_text().splitlines()
    declared = []
    for line in lines[lines.index("    bot:") + 1:]:
        if not line.startswith("      - "):
            break
        declared.append(line.strip()[2:])
    return declared


def test_the_slack_manifest_lists_exactly_the_tables_commands():
    manifest = manifest_commands()
    assert tuple(manifest) == COMMANDS
    for command in TABLE:
        listed = manifest[command.name]
        assert listed["description"] == command.slack_description
        assert listed.get("usage_hint", "") == command.usage_hint


def test_help_and_usage_come_from_the_table():
    text = help_text()
    for command in TABLE:
        for entry in command.entries:
            assert entry.synopsis in text or not entry.listed
            assert entry.usage in usage_line(command.name) or entry.sub is None
    assert spec("papers", "today").synopsis + " — " + spec("papers", "today").help in text


@pytest.mark.parametrize("line", ["/papers frobnicate", "/papers search", "/papers top year", "/subscribe",
                                  "/unsubscribe --bogus x"])
def test_the_grammar_refuses_what_the_table_does_not_declare(line: str):
    name, _, args = line.lstrip("/").partition(" ")
    with pytest.raises(UsageError, match=r"Usage|unknown"):
        parse(name, args)


async def test_discords_command_tree_is_the_table(db: Database):
    adapter = DiscordAdapter(make_bot(db).core, make_client(DiscordOptions()))
    tree = {c.name: c for c in adapter.tree.get_commands()}
    own = [e.sub for command in TABLE for e in command.entries if e.own_command and e.sub]
    assert sorted(tree) == sorted(COMMANDS + tuple(own))  # channel settings are commands of their own there
    for command in TABLE:
        discord_command = tree[command.name]
        subs = [e for e in command.entries if e.sub is not None and not e.own_command]
        if subs:
            children = {c.name: c for c in discord_command.commands}  # type: ignore[union-attr]
            assert list(children) == [e.sub for e in subs]
            for entry in subs:
                assert children[entry.sub].description == entry.description
        else:
            assert discord_command.description == command.entries[0].description
    for command in TABLE:
        for entry in command.entries:
            if not (entry.own_command and entry.sub):
                continue
            declared = tree[entry.sub].default_permissions
            if entry.personal_option:  # every member's own setting lives there too: open, checked by the bot
                assert declared is None
            else:
                assert declared is not None and declared.manage_channels
