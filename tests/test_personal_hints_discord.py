"""Answers on Discord name commands as Discord takes them (typed options, /digest as its own command), never
the console's and Slack's `--me` flag: through discord.py's command tree against the fake Discord."""

from __future__ import annotations

from typing import Any

from adapters.discord.discord_adapter import DiscordAdapter
from tests.chat_fixtures import make_bot
from tests.fakes import fake_discord as fd
from tests.personal_fixtures import DAY1, GNN, store_day
from tests.test_personal_discord import ADA, invoke, runner, shown, text

PERSONAL = {"type": 5, "name": "personal", "value": True}


def displayed(body: dict[str, Any]) -> str:
    """Everything a message shows: its content and each embed's title, text, fields and footer."""
    parts = [body.get("content") or ""]
    for embed in body.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", ""), (embed.get("footer") or {}).get("text", "")]
        parts += [f"{f.get('name', '')} {f.get('value', '')}" for f in embed.get("fields") or []]
    return shown("\n".join(parts))


async def test_discord_answers_never_show_the_console_flag(db, api, client):
    await store_day(db, DAY1)
    adapter = DiscordAdapter(make_bot(db).core, client)
    await invoke(adapter, "subscriptions")  # nothing followed yet: how to follow, for the channel and for you
    await invoke(adapter, "digest", [text("08:00 UTC", "setting"), PERSONAL])  # no topics of her own: a warning
    await invoke(adapter, "digest", [PERSONAL])  # her setting, described
    await invoke(adapter, "digest", [text("preview", "setting"), PERSONAL])
    await invoke(adapter, "digest", [text("08:00 UTC mon extra", "setting"), PERSONAL])  # a usage error
    await invoke(adapter, "papers", [], sub="mention")
    await invoke(adapter, "papers", [], sub="today")  # the channel follows nothing: how to follow
    await invoke(adapter, "subscribe", [text(GNN, "topic"), PERSONAL])
    await invoke(adapter, "digest", [text("off", "setting"), PERSONAL])
    await invoke(adapter, "subscriptions")
    await invoke(adapter, "digest", [text("08:00 UTC", "setting"), PERSONAL])
    answers = [displayed(rec.json()) for rec in api.of(fd.FOLLOWUP)]
    assert len(answers) >= 11
    assert not [a for a in answers if "--me" in a]
    said = "\n".join(answers)
    assert "/subscribe topic:TOPIC personal:True" in said  # for you
    assert "/subscribe topic:TOPIC)" in said  # for the channel
    assert "/digest setting:HH:MM personal:True" in said and "/papers digest" not in said
    assert "/papers mention setting:me on" in said
    assert [o.status for o in await runner(db, client).run_due()] == ["posted"]
    (digest,) = [rec.json() for rec in api.of(fd.MESSAGE)]
    dm = displayed(digest)
    assert "--me" not in dm and "/digest setting:off personal:True stops it" in dm
    assert str(ADA) in api.dms[ADA]["recipients"][0]["id"]


async def test_a_bad_digest_time_and_a_channel_digest_name_discords_commands(db, api, client):
    """What a moderator setting the channel's digest sees on a typo, and the small print of a digest for a channel
    that follows no topics yet: both name the commands as Discord's command picker offers them."""
    await store_day(db, DAY1)
    adapter = DiscordAdapter(make_bot(db).core, client)
    await invoke(adapter, "digest", [text("25:00", "setting")], permissions=fd.MANAGE_CHANNELS)
    (refused,) = [displayed(rec.json()) for rec in api.of(fd.FOLLOWUP)]
    assert "'25:00' is not a time of day; use HH:MM, e.g. /digest setting:09:00 Europe/Paris" in refused
    await invoke(adapter, "digest", [text("09:9", "setting"), PERSONAL])
    assert "e.g. /digest setting:09:00 Europe/Paris personal:True" in displayed(api.of(fd.FOLLOWUP)[-1].json())
    await invoke(adapter, "digest", [text("08:00 UTC", "setting")], permissions=fd.MANAGE_CHANNELS)
    assert [o.status for o in await runner(db, client).run_due()] == ["posted"]
    (digest,) = [displayed(rec.json()) for rec in api.of(fd.MESSAGE)]
    assert "Top papers by upvotes. Follow topics with /subscribe topic:TOPIC." in digest
    assert "/papers digest" not in refused + digest and "/subscribe TOPIC" not in digest
