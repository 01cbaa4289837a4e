"""Replies under a person's DM digest on Discord, through discord.py's gateway and HTTP client against the fake
Discord: a DM digest has no thread, so the person replies to it; the bot answers only such replies, only
under their own digest, and reads DM content without the privileged message content intent."""

from __future__ import annotations

import asyncio

from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.scope import Scope
from storage.personal_store import ensure_personal_destination
from tests.fakes import fake_discord as fd
from tests.personal_fixtures import DAY1, GNN, follow, store_day
from tests.test_discord_adapter import connected, gateway, shown, wait_for

__all__ = ["gateway"]  # a fixture shared with the Discord adapter tests

ADA = fd.USER_ID
BOB = 930000000000000002
DM_INTENT = 1 << 12  # DIRECT_MESSAGES
CONTENT_INTENT = 1 << 15  # MESSAGE_CONTENT (privileged)


async def test_a_reply_to_the_dm_digest_is_answered_there_and_nothing_else_in_dms_is(db, api, gateway):
    await store_day(db, DAY1)
    await follow(db, Scope.for_user("discord", str(fd.GUILD_ID), str(ADA)), GNN)
    async with db.session() as s:
        mine = await ensure_personal_destination(s, "discord", str(fd.GUILD_ID), str(ADA))
        mine.digest_enabled = True
        key = mine.key
    connector, bot = await connected(db)  # without the message content intent
    try:
        intents = gateway.identified[-1]["intents"]
        assert intents & DM_INTENT and not intents & CONTENT_INTENT
        runner = DigestRunner(bot.core.services, {"discord": connector.poster}, owner="test",
                              settings=DigestSettings(lease_seconds=300))
        assert [o.status for o in await runner.run_for(DAY1, key)] == ["posted"]
        dm = int(api.dms[ADA]["id"])
        digest = api.posted[dm][0]
        sent_before = len(api.of(fd.MESSAGE))

        def say(n: int, author: int, channel: int, text: str, *, reply_to: dict | None = None) -> None:
            gateway.dispatch("MESSAGE_CREATE", fd.message(
                970000000000000200 + n, channel, content=text, author=fd.user(author, f"user{author % 1000}"),
                reference=int(reply_to["id"]) if reply_to else None, referenced=reply_to))

        say(1, ADA, dm, "summarize 1")  # not a reply to anything: left alone
        say(2, BOB, 960000000000000099, "summarize 1", reply_to=digest)  # Bob replying to Ada's digest's id
        say(3, ADA, dm, "summarize 1", reply_to=digest)
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > sent_before)
        say(4, ADA, dm, "1: which molecules do they use", reply_to=digest)  # no "?" or mention needed in a DM
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > sent_before + 1)
        await asyncio.sleep(0.3)
    finally:
        await connector.stop()
    summary, answer = api.of(fd.MESSAGE)[sent_before:]
    assert summary.path == answer.path == f"{fd.API}/channels/{dm}/messages"
    assert shown(summary.json()["embeds"][0]["title"]).startswith("Summary: Graph neural networks for molecules")
    assert int(summary.json()["message_reference"]["message_id"]) == 970000000000000203  # a reply to hers
    assert shown(answer.json()["embeds"][0]["title"]).startswith("Q: which molecules do they use")


async def test_digests_from_two_servers_in_one_dm_each_name_their_server(db, api, gateway):
    """Discord has one DM per person and bot: a person with a digest in two servers got two messages headed
    "Paperboy · Mon 20 Apr · for you", with nothing saying which server's topics each one follows."""
    other = 910000000000000002
    await store_day(db, DAY1)
    keys = []
    for guild in (fd.GUILD_ID, other):
        await follow(db, Scope.for_user("discord", str(guild), str(ADA)), GNN)
        async with db.session() as s:
            mine = await ensure_personal_destination(s, "discord", str(guild), str(ADA))
            mine.digest_enabled = True
            keys.append(mine.key)
    connector, bot = await connected(db)
    try:
        gateway.dispatch("GUILD_CREATE", {**fd.guild_create(), "id": str(other), "name": "Reading *group*"})
        await wait_for(lambda: connector.client.get_guild(other) is not None)
        runner = DigestRunner(bot.core.services, {"discord": connector.poster}, owner="test",
                              settings=DigestSettings(lease_seconds=300))
        for key in keys:
            assert [o.status for o in await runner.run_for(DAY1, key)] == ["posted"]
    finally:
        await connector.stop()
    dm = int(api.dms[ADA]["id"])
    titles = [shown(message["embeds"][0]["title"]) for message in api.posted[dm]]
    assert titles == ["Paperboy · Mon Apr 20, 2026 · for you in Lab",
                      "Paperboy · Mon Apr 20, 2026 · for you in Reading *group*"]
