"""Hints that name a page or a setting spell it as Discord's command picker takes it (`/papers today page:2`,
`/digest setting:off`), never the console's and Slack's `/papers today 2`: through discord.py's command tree
and the digest runner against the fake Discord."""

from __future__ import annotations

from adapters.discord.discord_adapter import DiscordAdapter
from tests.chat_fixtures import make_bot
from tests.fakes import fake_discord as fd
from tests.personal_fixtures import DAY1, DIFFUSION, at, store_day
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

    assert "No digest set up here yet. Usage: /digest setting:HH:MM [TIMEZONE] [DAYS, e.g. mon-fri] · " \
           "/digest setting:off · /digest setting:preview" in await answer("digest")
    await answer("subscribe", [text(DIFFUSION, "topic")])
    assert "5 more — /papers today page:2" in await answer("papers", sub="today")
    assert "more —" not in await answer("papers", [text("2", "page")], sub="today")  # the last five
    assert ("'x' is not a page; use a number, e.g. /papers today page:2 for the next ten"
            in await answer("papers", [text("x", "page")], sub="today"))
    assert "Turn it on with /digest setting:HH:MM." in await answer("digest", [text("off", "setting")])
    assert "(/papers followups setting:off)" in await answer("papers", sub="followups")
    await answer("digest", [text("08:00 UTC", "setting")])
    assert [o.status for o in await runner(db, client).run_due()] == ["posted"]
    (digest,) = [displayed(rec.json()) for rec in api.of(fd.MESSAGE)]
    assert "2 more — /papers today page:2" in digest
    said = "\n".join(displayed(rec.json()) for rec in api.of(fd.FOLLOWUP)) + digest
    assert "/papers today 2" not in said and "/papers digest" not in said and "/digest HH:MM" not in said
