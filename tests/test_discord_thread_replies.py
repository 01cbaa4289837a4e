"""Thread replies on Discord through the gateway and discord.py's HTTP client against the fake Discord: with the
content intent a plain "more 3" in a digest's thread is understood like "summarize 3" (people's chatter there is
still left alone), and a reply to any message of a DM digest split over several messages is understood."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.papers import ParsedPaper
from bot.scope import Scope
from storage.destination_store import ensure_destination
from storage.paper_store import store_papers
from storage.personal_store import ensure_personal_destination
from tests.fakes import fake_discord as fd
from tests.personal_fixtures import DAY1, DIFFUSION, GNN, at, follow, store_day
from tests.test_discord_adapter import OTHER_USER, assert_safe_sends, connected, gateway, shown, wait_for

__all__ = ["gateway"]  # a fixture shared with the Discord adapter tests

ADA = fd.USER_ID


def say(gw: fd.FakeGateway, n: int, channel: int, text: str, *, reply_to: dict[str, Any] | None = None,
        guild: bool = True) -> None:
    mentioned = [fd.user(fd.BOT_ID, "Paperboy", bot=True)] if f"<@{fd.BOT_ID}>" in text else []
    data = fd.message(970000000000000300 + n, channel, content=text, author=fd.user(ADA, "ada"), mentions=mentioned,
                      reference=int(reply_to["id"]) if reply_to else None, referenced=reply_to)
    gw.dispatch("MESSAGE_CREATE", {**data, "guild_id": str(fd.GUILD_ID)} if guild else data)


def said(rec: Any) -> str:
    return shown("\n".join(t for e in rec.json()["embeds"] for t in (e.get("title"), e.get("description")) if t))


async def post_diffusion_digest(db, api, gateway, bot, connector) -> int:
    """The channel's diffusion digest of DAY1 posted through the connector; the id of the thread it opened (announced
    on the gateway, as Discord does)."""
    async with db.session() as s:
        destination = await ensure_destination(s, "discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID), "papers")
    runner = DigestRunner(bot.core.services, {"discord": connector.poster}, owner="test",
                          settings=DigestSettings(lease_seconds=300))
    assert (await runner.run_one(destination, DAY1, now=at(DAY1, 9))).status == "posted"
    ours = int(api.of(fd.THREAD)[0].path.split("/")[-2])
    gateway.dispatch("THREAD_CREATE", {**fd.thread_channel(ours), "newly_created": True})
    return ours


async def test_with_the_content_intent_judging_in_a_digest_thread_needs_no_mention(db, api, gateway):
    await store_day(db, DAY1)
    await follow(db, Scope.for_channel("discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID)), DIFFUSION)
    connector, bot = await connected(db, message_content=True)
    try:
        ours = await post_diffusion_digest(db, api, gateway, bot, connector)
        theirs = 980000000000000001
        gateway.dispatch("THREAD_CREATE", {**fd.thread_channel(theirs, owner_id=OTHER_USER, name="chat"),
                                           "newly_created": True})
        before = len(api.of(fd.MESSAGE))
        say(gateway, 1, ours, "+1")  # agreeing with someone: chatter, not a judgement
        say(gateway, 2, ours, "like this")
        say(gateway, 3, fd.CHANNEL_ID, "more 2")  # the channel itself, replying to nothing
        say(gateway, 4, theirs, "more 2")  # someone else's thread
        say(gateway, 5, ours, "more 2")
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > before)
        say(gateway, 6, ours, "less 3")
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > before + 1)
        say(gateway, 7, ours, "less 1, 2")  # several papers in one reply
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > before + 2)
    finally:
        await connector.stop()
    relevant, not_for_us, both = api.of(fd.MESSAGE)[before:]
    assert relevant.path == not_for_us.path == both.path == f"{fd.API}/channels/{ours}/messages"
    assert said(relevant).startswith("Noted — relevant: “Diffusion models for image synthesis")
    assert said(not_for_us).startswith("Noted — not for us:")
    assert [line[:20] for line in said(both).split("\n")] == ["Noted — not for us: "] * 2
    assert "“Diffusion models for image synthesis" in said(both)
    assert_safe_sends(api)


def long_gnn_papers(n: int = 10) -> list[ParsedPaper]:
    """Papers whose long titles make a ten-paper digest take two Discord messages."""
    return [ParsedPaper(title=f"Graph neural networks for molecules, study {i}: "
                              + "message passing over molecular graphs with attention " * 5,
                        abstract="We propose a graph neural network for molecular property prediction; graph neural "
                                 "networks beat the baselines on eleven benchmarks of molecules and materials.",
                        source="hf-api", arxiv_id=f"2604.{DAY1.day:02d}{i:03d}", listed_on=DAY1, upvotes=1)
            for i in range(n)]


async def test_a_reply_to_a_later_message_of_a_split_dm_digest_is_understood(db, api, gateway):
    async with db.session() as s:
        await store_papers(s, long_gnn_papers())
        mine = await ensure_personal_destination(s, "discord", str(fd.GUILD_ID), str(ADA))
        mine.digest_enabled = True
        key = mine.key
    await follow(db, Scope.for_user("discord", str(fd.GUILD_ID), str(ADA)), GNN)
    connector, bot = await connected(db)  # DMs carry their text without the content intent
    try:
        runner = DigestRunner(bot.core.services, {"discord": connector.poster}, owner="test",
                              settings=DigestSettings(lease_seconds=300))
        assert [o.status for o in await runner.run_for(DAY1, key)] == ["posted"]
        dm = int(api.dms[ADA]["id"])
        parts = api.posted[dm]
        assert len(parts) >= 2
        last = parts[-1]
        listed = {int(n): title for e in last["embeds"]
                  for n, title in re.findall(r"^\*\*(\d+)\. \[(.{40})", e.get("description", ""), flags=re.M)}
        numbers = sorted(listed)
        assert numbers and numbers[0] > 1  # the later message goes on numbering where the first stopped
        before = len(api.of(fd.MESSAGE))
        say(gateway, 10, dm, f"summarize {numbers[-1]}", reply_to=last, guild=False)
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > before)
        say(gateway, 11, dm, f"more {numbers[0]}", reply_to=last, guild=False)
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > before + 1)
    finally:
        await connector.stop()
    summary, judged = api.of(fd.MESSAGE)[before:]
    assert summary.path == judged.path == f"{fd.API}/channels/{dm}/messages"
    assert said(summary).startswith(f"Summary: {shown(listed[numbers[-1]])}")
    assert said(judged).startswith(f"Noted — relevant: “{shown(listed[numbers[0]])}")


async def test_which_one_hints_in_a_digest_thread_say_to_mention_the_bot(db, api, gateway):
    """"@Paperboy summarize" under a list of several papers asks which one; on Discord the example carries the
    mention, as a reply there reaches the bot only with one (without the privileged message-content intent)."""
    await store_day(db, DAY1)
    await follow(db, Scope.for_channel("discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID)), DIFFUSION)
    connector, bot = await connected(db)
    try:
        ours = await post_diffusion_digest(db, api, gateway, bot, connector)
        before = len(api.of(fd.MESSAGE))
        for n, text in enumerate(("summarize", "more", "what dataset do they use?"), start=1):
            say(gateway, n, ours, f"<@{fd.BOT_ID}> {text}")
            await wait_for(lambda n=n: len(api.of(fd.MESSAGE)) >= before + n)
    finally:
        await connector.stop()
    answers = [said(rec) for rec in api.of(fd.MESSAGE)[before:]]
    assert [re.sub(r"\d+, e\.g\.", "N, e.g.", a) for a in answers] == [
        "Which one? Reply with a number from 1 to N, e.g. “@Paperboy summarize 2”.",
        "Which one? Reply with a number from 1 to N, e.g. “@Paperboy more 2” or “@Paperboy less 2”.",
        "Which one? Reply with a number from 1 to N, e.g. “@Paperboy 2: your question”.",
    ]


def say_as_member(gw: fd.FakeGateway, n: int, channel: int, text: str, author: int) -> None:
    """A server message as Discord sends it: with the author's `member` object (its roles), so discord.py makes
    the author a Member whose permissions can be asked."""
    data = fd.message(970000000000000700 + n, channel, content=text, author=fd.user(author, f"u{author % 1000}"),
                      mentions=[fd.user(fd.BOT_ID, "Paperboy", bot=True)])
    data["guild_id"] = str(fd.GUILD_ID)
    data["member"] = {"roles": [], "joined_at": fd.TIMESTAMP, "deaf": False, "mute": False, "flags": 0}
    gw.dispatch("MESSAGE_CREATE", data)


@pytest.mark.parametrize("parent_cached", [True, False])
async def test_like_in_a_thread_discord_py_has_not_cached_is_allowed_to_a_moderator(db, api, gateway, parent_cached):
    """An archived thread leaves discord.py's cache (a restart empties it): its messages come with a
    PartialMessageable channel, which the adapter fetches. Whether the author may start a channel topic
    ("@Paperboy like 1", as /subscribe: Manage Channels) is asked of that fetched thread: the server's owner may,
    a member without the permission may not. A thread's permissions are its parent's: when the server's cache
    lacks the parent too (`parent_cached` False), it is fetched as well."""
    if not parent_cached:
        gateway.channels = [fd.text_channel(920000000000000099, "general")]
    await store_day(db, DAY1)
    await follow(db, Scope.for_channel("discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID)), DIFFUSION)
    connector, bot = await connected(db)
    try:
        announce, gateway.dispatch = gateway.dispatch, lambda *a, **k: None  # the thread is never announced
        ours = await post_diffusion_digest(db, api, gateway, bot, connector)
        gateway.dispatch = announce
        assert connector.client.get_channel(ours) is None
        before = len(api.of(fd.MESSAGE))
        say_as_member(gateway, 1, ours, f"<@{fd.BOT_ID}> like 1", author=OTHER_USER)
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > before)
        say_as_member(gateway, 2, ours, f"<@{fd.BOT_ID}> like 1", author=ADA)  # the server's owner
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > before + 1)
    finally:
        await connector.stop()
    refused, allowed = (said(m) for m in api.of(fd.MESSAGE)[before:])
    assert "needs the Manage Channels permission" in refused
    assert allowed.startswith("Already following; taught this channel to “diffusion models”"), allowed


async def test_like_under_a_list_in_a_forum_post_starts_no_channel_topic(db, api, gateway):
    """"@Paperboy like 1" replying to a list the bot gave in a forum post would start a channel topic, and with it
    a daily digest for the forum, which takes no messages itself: refused, as /subscribe is there. Neither the
    post nor its forum is in discord.py's cache: both are asked of Discord."""
    forum_id, post_id = 920000000000000009, 920000000000000010
    api.channels[forum_id] = fd.forum_channel(forum_id)
    api.channels[post_id] = fd.thread_channel(post_id, forum_id, "Reading group", owner_id=OTHER_USER)
    await store_day(db, DAY1)
    connector, _bot = await connected(db)
    try:
        gateway.dispatch("INTERACTION_CREATE", fd.interaction("papers", subcommand="today",
                                                              channel=api.channels[post_id]))
        await wait_for(lambda: api.of(fd.FOLLOWUP))
        # the list as Discord holds it (the fake hands out ids in order: the first follow-up's is its first)
        listing = fd.message(fd.FIRST_ID, post_id, embeds=api.of(fd.FOLLOWUP)[0].json()["embeds"])
        before = len(api.of(fd.MESSAGE))
        data = fd.message(970000000000000801, post_id, content=f"<@{fd.BOT_ID}> like 1",
                          author=fd.user(ADA, "ada"), mentions=[fd.user(fd.BOT_ID, "Paperboy", bot=True)],
                          reference=int(listing["id"]), referenced=listing)
        gateway.dispatch("MESSAGE_CREATE", {**data, "guild_id": str(fd.GUILD_ID), "member": {
            "roles": [], "joined_at": fd.TIMESTAMP, "deaf": False, "mute": False, "flags": 0}})  # the server's owner
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > before)
    finally:
        await connector.stop()
    (answer,) = api.of(fd.MESSAGE)[before:]
    assert answer.path == f"{fd.API}/channels/{post_id}/messages"
    assert said(answer).startswith("A forum gets no digest")
    async with db.session() as s:
        from storage.destination_store import get_destination

        assert await get_destination(s, f"discord:{fd.GUILD_ID}:{forum_id}") is None
