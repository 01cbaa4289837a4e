"""Hints that name a page or a setting spell it as Discord's command picker takes it (`/papers today page:2`,
`/digest setting:off`, `/papers feedback what:reset TOPIC personal:True`), never the console's and Slack's
`/papers today 2` or `--me`: through discord.py's command tree and the digest runner against the fake Discord.
A DM digest names no `/papers today` at all: Discord's commands do not exist in DMs."""

from __future__ import annotations

import re
from typing import Any

from adapters.discord.discord_adapter import DiscordAdapter
from tests.chat_fixtures import make_bot
from tests.fakes import fake_discord as fd
from tests.personal_fixtures import DAY1, DIFFUSION, at, store_day
from tests.test_discord_adapter import wait_for
from tests.test_personal_discord import invoke, runner, text
from tests.test_personal_hints_discord import displayed


async def test_more_lines_and_usage_errors_name_discords_options(db, api, client):
    await store_day(db, DAY1)  # twelve diffusion papers: ten in a list, two more
    adapter = DiscordAdapter(make_bot(db, now=at(DAY1, 9)).core, client)
    moderator = fd.MANAGE_CHANNELS

    async def answer(command: str, options: list | None = None, *, sub: str | None = None) -> str:
        before = len(api.of(fd.FOLLOWUP))
        await invoke(adapter, command, options, sub=sub, permissions=moderator)
        return "\n".join(displayed(rec.json()) for rec in api.of(fd.FOLLOWUP)[before:])

    # A thread reply reaches the bot on Discord only with a mention (the message-content intent is privileged)
    assert ("Nothing yet. Reply “@Paperboy more 3” or “@Paperboy less 3” under a listing"
            in await answer("papers", sub="feedback"))
    assert "No digest set up here yet. Usage: /digest setting:HH:MM [TIMEZONE] [DAYS, e.g. mon-fri] · " \
           "/digest setting:on · /digest setting:off · /digest setting:preview" in await answer("digest")
    await answer("subscribe", [text(DIFFUSION, "topic")])
    assert "5 more — /papers today page:2" in await answer("papers", sub="today")
    assert "more —" not in await answer("papers", [text("2", "page")], sub="today")  # the last five
    assert ("'x' is not a page; use a number from 1, e.g. /papers today page:2 for the next ten"
            in await answer("papers", [text("x", "page")], sub="today"))
    assert "Turn it back on with /digest setting:on." in await answer("digest", [text("off", "setting")])
    assert "(/papers followups setting:off)" in await answer("papers", sub="followups")
    await answer("digest", [text("08:00 UTC", "setting")])
    assert [o.status for o in await runner(db, client).run_due()] == ["posted"]
    (digest,) = [displayed(rec.json()) for rec in api.of(fd.MESSAGE)]
    assert "2 more — /papers today page:2" in digest
    said = "\n".join(displayed(rec.json()) for rec in api.of(fd.FOLLOWUP)) + digest
    assert "/papers today 2" not in said and "/papers digest" not in said and "/digest HH:MM" not in said


PERSONAL = {"type": 5, "name": "personal", "value": True}


async def test_feedback_topics_from_papers_and_the_dm_digest_name_discords_options(db, api, client):
    await store_day(db, DAY1)  # twelve diffusion papers and three on graph networks
    adapter = DiscordAdapter(make_bot(db, now=at(DAY1, 9)).core, client)

    async def answer(command: str, options: list | None = None, *, sub: str | None = None) -> str:
        before = len(api.of(fd.FOLLOWUP))
        await invoke(adapter, command, options, sub=sub, permissions=fd.MANAGE_CHANNELS)
        return "\n".join(displayed(rec.json()) for rec in api.of(fd.FOLLOWUP)[before:])

    # Her own digest by DM: ten of her twelve matches, and the rest named without a command she cannot run there.
    await answer("subscribe", [text(DIFFUSION, "topic"), PERSONAL])
    await answer("digest", [text("08:00 UTC", "setting"), PERSONAL])
    assert [o.status for o in await runner(db, client).run_due()] == ["posted"]
    (dm,) = [displayed(rec.json()) for rec in api.of(fd.MESSAGE)]
    assert "for you" in dm and "2 more match your topics." in dm and "/papers today" not in dm

    assert ("Usage: /papers feedback [personal:True] · /papers feedback what:reset TOPIC [personal:True]"
            in await answer("papers", [text("forget it all", "what")], sub="feedback"))
    started = await answer("subscribe", [text("like 2604.20001", "topic"), PERSONAL])
    assert re.search(r"Rename it with /unsubscribe topic:\S.* personal:True and /subscribe topic:NEW NAME "
                     r"personal:True\.", started), started
    assert ("/papers feedback what:reset TOPIC personal:True forgets a topic's judgements"
            in await answer("papers", [PERSONAL], sub="feedback"))
    assert "Usage: /subscribe topic:like PAPER_ID [PAPER_ID …] (1 to 10 papers)" in await answer(
        "subscribe", [text("like " + " ".join(f"#{n}" for n in range(1, 12)), "topic")])
    assert "say which topic, e.g. “diffusion models”" in await answer("subscribe", [text('""', "topic")])
    assert "unknown option -x. Usage: /subscribe topic [personal]" in await answer("subscribe", [text("-x", "topic")])
    assert "e.g. /papers show paper:#12" in await answer("papers", [text("١٢", "paper")], sub="show")

    # 👍 on a paper no topic of the channel's matched offers a topic, and says how to remove it again.
    listing = await _listing(adapter, api)
    up = next(c["custom_id"] for row in listing["components"] for c in row["components"]
              if c["custom_id"].startswith("paperboy:judge:up:1:"))
    clicked = fd.message(944000000000000002, fd.CHANNEL_ID, embeds=listing["embeds"],
                         components=listing["components"])
    notes = len(api.of(fd.FOLLOWUP))
    client._connection.parse_interaction_create(fd.component_interaction(up, clicked,
                                                                         interaction_id=944000000000000003))
    await wait_for(lambda: len(api.of(fd.FOLLOWUP)) > notes)
    offer = displayed(api.of(fd.FOLLOWUP)[-1].json())
    assert "and /unsubscribe topic:TOPIC removes it." in offer, offer

    said = "\n".join(displayed(rec.json()) for rec in api.of(fd.FOLLOWUP)) + dm
    assert "--me" not in said and "/subscribe like" not in said and "/subscribe diffusion" not in said


async def _listing(adapter: DiscordAdapter, api: Any) -> dict[str, Any]:
    """/papers today in the channel (which follows no topics: by upvotes), as posted with its buttons."""
    before = len(api.of(fd.FOLLOWUP))
    await invoke(adapter, "papers", sub="today")
    return next(rec.json() for rec in api.of(fd.FOLLOWUP)[before:] if rec.json().get("components"))
