"""Judgements on a person's own lists teach the person's topics, never the channel's (and the other way round):
`more 3` / `less 3` / `undo 3` under a DM digest and under the "for you" part of /papers today, in the console;
👍 / 👎 buttons on a DM digest and on the ephemeral "for you" part on Slack (signed bolt requests against the
fake Slack) and Discord (discord.py's gateway dispatch against the fake Discord). And "more like this": a 👍 on a
paper no topic matched offers to start a topic, which only a confirmation (`like 3`, or the offer's button)
creates, once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import discord
import pytest

from adapters.discord.discord_adapter import DiscordAdapter
from bot.commands.context import ChatContext
from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.scope import Scope
from storage import feedback_store
from storage.database import Database
from storage.personal_store import ensure_personal_destination
from tests.chat_fixtures import ingest_samples, make_bot
from tests.fakes import fake_discord as fd
from tests.fakes.fake_slack import TEAM, FakeSlack, action_request, command_request, event_request
from tests.personal_fixtures import DAY1, DAY2, DIFFUSION, GNN, at, follow, store_day
from tests.test_personal import ML, Printed, runner, say, u1_dm_digest
from tests.test_personal_dm_slack import im_reply
from tests.test_personal_slack import command, run_digests, runtime, wait_for

ME = "/papers feedback --me"


async def _taught(db: Database, scope: Scope) -> dict[str, tuple[int, int]]:
    async with db.session() as session:
        return {f.topic: (f.relevant, f.not_relevant) for f in await feedback_store.summary(session, scope.key)}


def _number(printed: str, mark: str = "#") -> int:
    found = re.search(rf"\[{mark}(\d+)\]", printed)
    assert found, printed
    return int(found.group(1))


# -- console -------------------------------------------------------------------------------------------------

async def test_console_judgements_under_your_digest_and_for_you_list_teach_your_topics_only(db):
    dm, printed = await u1_dm_digest(db)
    digest = _number(dm)

    u1 = make_bot(db, channel=ML, user="u1", now=at(DAY1, 10))
    await u1.console.say("more 1", thread=digest, dm=True)
    assert "Noted — relevant: “Graph neural networks for molecules, study 20-" in u1.last()
    assert "for “graph neural networks” (👍 1 · 👎 0; your “graph neural networks” now learns from 1 judged " \
           "paper)" in u1.last()
    await u1.console.say("👎 2", thread=digest, dm=True)
    assert "Noted — not for you:" in u1.last()
    await u1.console.say("undo 2", thread=digest, dm=True)
    assert "Noted — withdrawn:" in u1.last()
    await u1.console.say("summarize 1", thread=digest, dm=True)  # the other replies still work there
    assert "Summary: Graph neural networks for molecules" in u1.last()

    # The "for you" part of /papers today is numbered among u1's own messages and judged for u1 too; it ranks
    # with what u1 taught.
    await u1.console.say("/papers today")
    assert "like 1 paper marked relevant here" in u1.last()
    mine = _number(u1.last(), "@")
    assert "(only you can see this)" in u1.last() and f"reply @{mine} more 2" in u1.last()
    await u1.console.say("less 3", thread=mine, dm=True)
    assert "Noted — not for you:" in u1.last() and "your “graph neural networks”" in u1.last()
    await u1.console.say("more 1", thread=1)  # the channel's list: the channel's topic
    assert "this channel's “diffusion models” now learns" in u1.last()

    assert await _taught(db, Scope.for_user("console", "local", "u1")) == {GNN: (1, 1)}
    assert await _taught(db, Scope.for_channel("console", "local", ML)) == {DIFFUSION: (1, 0)}
    await u1.console.say(ME)
    assert "What you taught your topics" in u1.last() and "• graph neural networks: 👍 1 · 👎 1" in u1.last()
    assert "diffusion" not in u1.last()
    await u1.console.say("/papers feedback")
    assert "• diffusion models: 👍 1 · 👎 0" in u1.last() and "graph neural" not in u1.last()
    someone = make_bot(db, channel=ML, user="u2", now=at(DAY1, 10))
    await someone.console.say(ME)
    assert "Nothing yet" in someone.last()  # u1's judgements are u1's

    # The next day's DM digest ranks with what u1 taught (the 👍; the 👎 on a near twin is withdrawn first).
    await u1.console.say("undo 3", thread=mine, dm=True)
    assert "Noted — withdrawn:" in u1.last()
    assert await _taught(db, Scope.for_user("console", "local", "u1")) == {GNN: (1, 0)}
    await store_day(db, DAY2, gnn=2, start=100, diffusion=2)
    await runner(db, printed, at(DAY2, 9)).run_due()
    second = printed.to("@u1")[1]
    assert "study 21-100" in second and "marked relevant here" in second

    await u1.console.say(f"{ME} reset {GNN}")
    assert "Forgot 1 judgement for “graph neural networks”" in u1.last() and "(only you can see this)" in u1.last()
    assert await _taught(db, Scope.for_user("console", "local", "u1")) == {}
    assert await _taught(db, Scope.for_channel("console", "local", ML)) == {DIFFUSION: (1, 0)}


async def test_feedback_marks_topics_no_longer_followed_whose_judgements_are_kept(db):
    """`/papers feedback --me` listed a topic the person had unsubscribed as if they still followed it. Its
    judgements are kept (following it again brings them back), so it is shown, marked, with how to forget them;
    the channel's `/papers feedback` alike."""
    await store_day(db, DAY1)
    await say(db, f"/subscribe {DIFFUSION}", user="u9")
    await say(db, f"/subscribe --me {GNN}", user="u1")
    u1 = make_bot(db, channel=ML, user="u1", now=at(DAY1, 10))
    await u1.console.say("/papers today")
    await u1.console.say("less 2", thread=_number(u1.last(), "@"), dm=True)
    await u1.console.say("more 1", thread=1)
    await u1.console.say(f"/unsubscribe --me {GNN}")
    await u1.console.say(ME)
    assert f"• {GNN} (not followed): 👍 0 · 👎 1" in u1.last()
    await u1.console.say("/papers feedback")
    assert f"• {DIFFUSION}: 👍 1 · 👎 0" in u1.last() and "not followed" not in u1.last()
    await u1.console.say(f"/unsubscribe {DIFFUSION}")
    await u1.console.say("/papers feedback")
    assert f"• {DIFFUSION} (not followed): 👍 1 · 👎 0" in u1.last()
    assert "following it puts them to use" in u1.last()
    await u1.console.say(f"/subscribe --me {GNN}")
    await u1.console.say(ME)
    assert f"• {GNN}: 👍 0 · 👎 1" in u1.last() and "not followed" not in u1.last()


async def test_someone_elses_digest_number_judges_nothing(db):
    await store_day(db, DAY1)
    await say(db, f"/subscribe --me {GNN}", user="u1")
    await say(db, "/papers digest --me 08:00 UTC", user="u1")
    printed = Printed(db)
    await runner(db, printed, at(DAY1, 9)).run_due()
    u2 = make_bot(db, channel=ML, user="u2", now=at(DAY1, 10))
    await u2.console.say("more 1", thread=_number(printed.to("@u1")[0]), dm=True)
    assert "no answer" in u2.last()
    assert await _taught(db, Scope.for_user("console", "local", "u1")) == {}
    assert await _taught(db, Scope.for_user("console", "local", "u2")) == {}


async def test_a_thumbs_up_on_an_unmatched_paper_offers_a_topic_that_like_n_starts_once(db):
    await ingest_samples(db)
    bot = make_bot(db, channel="lab", user="ada")
    await bot.console.say("/papers today")  # no topics: listed by upvotes
    await bot.console.say("less 1", thread=1)
    assert "start a topic" not in bot.last()  # only a 👍 offers one
    await bot.console.say("more 1", thread=1)
    offer = bot.last()
    assert "for no topic (listed for its upvotes)" in offer
    assert "It matched none of this channel's topics: start a topic like this paper?" in offer
    assert "Reply “like 1” to start it." in offer
    await bot.console.say("/subscriptions")
    assert "This channel follows: nothing yet" in bot.last()  # nothing before the confirmation

    await bot.console.say("like 1", thread=1)
    started = bot.last()
    assert "Subscribed this channel to “" in started and "from 1 example paper" in started
    topic = started.split("“", 1)[1].split("”", 1)[0]
    await bot.console.say("like 1", thread=1)  # confirmed again: no second topic
    assert f"This channel already follows “{topic}”, which learns from this paper; nothing was added." in bot.last()
    await bot.console.say("more 1", thread=1)  # a second 👍: no new offer either
    assert "start a topic" not in bot.last()
    await bot.console.say("/subscriptions")
    assert f"This channel follows: {topic}" in bot.last() and "," not in bot.last().split("follows:", 1)[1] \
        .split("\n", 1)[0]
    await bot.console.say("/papers feedback")
    assert f"• {topic}: 👍 1 · 👎 0" in bot.last()
    await bot.console.say("like 99", thread=1)
    assert bot.last().strip().endswith("There is no paper 99 there; pick 1 to 10.")


# -- Slack ---------------------------------------------------------------------------------------------------

@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def _button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    return next(e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id)


async def _slack_click(rt, fake: FakeSlack, blocks, action_id: str, *, ts: str, channel: str, user: str, n: int,
                       ephemeral: bool = False, update: bool = True) -> dict[str, Any]:
    button = _button(blocks, action_id)
    calls = len(fake.updates())
    request = action_request(action_id, button["value"], message_ts=ts, channel=channel, user=user, blocks=blocks,
                             response_url=fake.response_url(n), ephemeral=ephemeral,
                             action_ts=f"{1_700_000_001 + 30 * n}.000000")  # each click its own moment
    assert (await rt.app.async_dispatch(request)).status == 200
    note = (await wait_for(lambda: [r for r in fake.responses(n) if r.get("replace_original") is False]))[-1]
    if update:
        await wait_for(lambda: len(fake.updates()) > calls)
    if ephemeral and action_id.split(":")[1] in ("relevant", "not_relevant"):
        # a private list is no message chat.update may edit: the click's response_url replaces it
        replaced = await wait_for(lambda: [r for r in fake.responses(n) if r.get("replace_original") is True])
        assert action_id.split(":")[1] in str(replaced[-1]["blocks"])
    return note


async def test_slack_buttons_on_a_dm_digest_and_on_for_you_judge_for_the_person(db, fake):
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    await command(rt, fake, f"/subscribe {DIFFUSION}", user="U9", n=1)
    await command(rt, fake, f"/subscribe --me {GNN}", user="U1", n=2)
    await command(rt, fake, "/papers digest --me 08:00 UTC", user="U1", n=3)
    outcomes = {o.destination: o.status for o in await run_digests(db, rt).run_due()}
    assert outcomes[f"slack:{TEAM}:@U1"] == "posted"
    (post,) = [p for p in fake.posts() if p["channel"] == "DU1"]
    digest_ts = fake.history["DU1"][0]["ts"]

    note = await _slack_click(rt, fake, post["blocks"], "paperboy:relevant:1", ts=digest_ts, channel="DU1",
                              user="U1", n=10)
    assert note["response_type"] == "ephemeral" and note["text"].startswith("Noted — relevant:")
    assert "your “graph neural networks” now learns from 1 judged paper" in note["text"]
    update = fake.updates()[-1]
    assert update["channel"] == "DU1" and update["ts"] == digest_ts
    assert _button(update["blocks"], "paperboy:relevant:1")["text"]["text"] == "👍 Relevant · 1"

    # U1's preview of tomorrow's digest ranks with what they taught; the channel's list with nothing of it
    await store_day(db, DAY2, gnn=2, start=100, diffusion=0)
    ctx = ChatContext("slack", TEAM, "C1", "U1")
    preview = await make_bot(db, now=at(DAY2, 10)).core.handle_command(ctx, "papers", "digest --me preview")
    assert "like 1 paper marked relevant here" in preview.message.plain_text()

    # "For you" under /papers today in the channel: ephemeral, its buttons marked for the person.
    (private,) = await command(rt, fake, "/papers today", user="U1", n=4)
    assert private["blocks"][0]["text"]["text"] == "For you"
    value = _button(private["blocks"], "paperboy:not_relevant:2")["value"]
    assert value.startswith(f"me:{TEAM}:")
    note = await _slack_click(rt, fake, private["blocks"], "paperboy:not_relevant:2", ts="1700000500.000001",
                              channel="C1", user="U1", n=11, ephemeral=True, update=False)
    assert "Noted — not for you:" in note["text"] and "your “graph neural networks”" in note["text"]

    you = Scope.for_user("slack", TEAM, "U1")
    assert await _taught(db, you) == {GNN: (1, 1)}
    assert await _taught(db, Scope.for_channel("slack", TEAM, "C1")) == {}
    assert await _taught(db, Scope.for_channel("slack", TEAM, "DU1")) == {}  # not the DM conversation's
    core = make_bot(db, now=at(DAY1, 10)).core
    ctx = ChatContext("slack", TEAM, "C1", "U1")
    mine = await core.handle_command(ctx, "papers", "feedback --me")
    assert "• graph neural networks: 👍 1 · 👎 1" in (mine.message.body or "")
    assert "Nothing yet" in ((await core.handle_command(ctx, "papers", "feedback")).message.text or "")

    # A reply in the DM digest's thread (message.im) judges for U1 as well.
    posts = len(fake.posts())
    event = im_reply("U1", "DU1", digest_ts, "more 3", 1)
    assert (await rt.app.async_dispatch(event_request(event, event_id="EvMore3"))).status == 200
    answer = (await wait_for(lambda: fake.posts()[posts:]))[0]
    assert answer["channel"] == "DU1" and answer["thread_ts"] == digest_ts
    assert answer["text"].startswith("Noted — relevant:") and "your “graph neural networks”" in answer["text"]
    assert await _taught(db, you) == {GNN: (2, 1)}


async def test_slack_thumbs_up_on_an_unmatched_paper_offers_a_button_that_starts_one_topic(db, fake):
    await ingest_samples(db)
    rt = runtime(db, fake)  # the channel follows nothing: /papers today lists by upvotes
    assert (await rt.app.async_dispatch(command_request("/papers", "today", fake.response_url(1)))).status == 200
    (listing,) = await wait_for(lambda: fake.posts())
    ts = fake.history["C1"][0]["ts"]
    note = await _slack_click(rt, fake, listing["blocks"], "paperboy:relevant:1", ts=ts, channel="C1", user="U1",
                              n=2)
    assert "start a topic like this paper?" in note["text"] and note["response_type"] == "ephemeral"
    start = _button(note["blocks"], "paperboy:start_topic:1")
    assert start["text"]["text"] == "Start a topic like this" and not start["value"].startswith("me:")
    core = make_bot(db).core
    ctx = ChatContext("slack", TEAM, "C1", "U1")
    assert "nothing yet" in ((await core.handle_command(ctx, "subscriptions", "")).message.plain_text())

    started = await _slack_click(rt, fake, note["blocks"], "paperboy:start_topic:1", ts="1700000600.000001",
                                 channel="C1", user="U1", n=3, ephemeral=True, update=False)
    assert started["response_type"] == "in_channel" and started["text"].startswith("Subscribed this channel to “")
    topic = started["text"].split("“", 1)[1].split("”", 1)[0]
    again = await _slack_click(rt, fake, note["blocks"], "paperboy:start_topic:1", ts="1700000600.000001",
                               channel="C1", user="U2", n=4, ephemeral=True, update=False)
    assert f"already follows “{topic}”" in again["text"] and again["response_type"] == "ephemeral"
    listing_now = (await core.handle_command(ctx, "subscriptions", "")).message.plain_text()
    assert f"This channel follows: {topic}" in listing_now


# -- Discord -------------------------------------------------------------------------------------------------

ADA = fd.USER_ID


def _components(message: dict[str, Any]) -> dict[str, str]:
    return {c["custom_id"]: c["label"] for row in message.get("components") or [] for c in row["components"]}


def _dm_click(custom_id: str, clicked: dict[str, Any], dm: int, n: int) -> dict[str, Any]:
    """A button clicked in the person's DM with the bot: no guild, `user` instead of `member`."""
    payload = fd.component_interaction(custom_id, clicked, user_id=ADA, interaction_id=942000000000000000 + n)
    for key in ("guild_id", "member", "guild_locale"):
        payload.pop(key, None)
    payload["user"] = fd.user(ADA, "ada")
    payload["channel"] = fd.dm_channel(dm, fd.user(ADA, "ada"))
    payload["channel_id"] = str(dm)
    payload["context"] = 1
    return payload


def shown(markdown: str) -> str:
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", markdown)


async def test_discord_buttons_on_a_dm_digest_and_on_for_you_judge_for_the_person(db, api, client):
    await store_day(db, DAY1)
    guild = str(fd.GUILD_ID)
    await follow(db, Scope.for_channel("discord", guild, str(fd.CHANNEL_ID)), DIFFUSION)
    await follow(db, Scope.for_user("discord", guild, str(ADA)), GNN)
    async with db.session() as s:
        mine = await ensure_personal_destination(s, "discord", guild, str(ADA))
        mine.digest_enabled = True
        key = mine.key
    bot = make_bot(db, now=at(DAY1, 10))
    adapter = DiscordAdapter(bot.core, client)
    digests = DigestRunner(make_bot(db, now=at(DAY1, 9)).core.services, {"discord": adapter.poster(interval=0)},
                           owner="test", settings=DigestSettings(lease_seconds=300))
    assert [o.status for o in await digests.run_for(DAY1, key)] == ["posted"]
    dm = int(api.dms[ADA]["id"])
    digest = api.posted[dm][0]
    up = next(c for c in _components(digest) if c.startswith("paperboy:judge:up:1:"))

    edits, notes = len(api.of(fd.EDIT_ORIGINAL)), len(api.of(fd.FOLLOWUP))
    client._connection.parse_interaction_create(_dm_click(up, digest, dm, 1))
    await wait_for(lambda: len(api.of(fd.EDIT_ORIGINAL)) > edits and len(api.of(fd.FOLLOWUP)) > notes)
    assert _components(api.of(fd.EDIT_ORIGINAL)[-1].json())[up] == "👍 1 · 1"
    note = shown(api.of(fd.FOLLOWUP)[-1].json()["content"])
    assert note.startswith("Noted — relevant:") and "your “graph neural networks” now learns" in note

    # "For you" under /papers today: an ephemeral follow-up with buttons for the person's own topics
    payload = fd.interaction("papers", subcommand="today", interaction_id=942000000000000100)
    await adapter.tree._call(discord.Interaction(data=payload, state=client._connection))
    private = next(r.json() for r in api.of(fd.FOLLOWUP)[notes:] if r.json().get("flags", 0) & 64
                   and "components" in r.json())
    down = next(c for c in _components(private) if c.startswith("paperboy:judge:down:2:"))
    assert down.startswith(f"paperboy:judge:down:2:me:{guild}:")
    clicked = fd.message(942000000000000200, fd.CHANNEL_ID, embeds=private["embeds"], flags=64,
                         components=private["components"])
    notes = len(api.of(fd.FOLLOWUP))
    client._connection.parse_interaction_create(fd.component_interaction(down, clicked,
                                                                         interaction_id=942000000000000300))
    await wait_for(lambda: len(api.of(fd.FOLLOWUP)) > notes)
    assert "Noted — not for you:" in shown(api.of(fd.FOLLOWUP)[-1].json()["content"])
    assert await _taught(db, Scope.for_user("discord", guild, str(ADA))) == {GNN: (1, 1)}
    assert await _taught(db, Scope.for_channel("discord", guild, str(fd.CHANNEL_ID))) == {}
    ctx = ChatContext("discord", guild, str(fd.CHANNEL_ID), str(ADA))
    mine_view = await make_bot(db).core.handle_command(ctx, "papers", "feedback --me")
    assert "• graph neural networks: 👍 1 · 👎 1" in (mine_view.message.body or "")


async def test_discord_start_topic_button_needs_manage_channels_for_a_channel_topic(db, api, client):
    await ingest_samples(db)
    bot = make_bot(db)
    adapter = DiscordAdapter(bot.core, client)
    payload = fd.interaction("papers", subcommand="today", interaction_id=943000000000000001)
    await adapter.tree._call(discord.Interaction(data=payload, state=client._connection))
    listing = next(r.json() for r in api.of(fd.FOLLOWUP) if "components" in r.json())
    clicked = fd.message(943000000000000002, fd.CHANNEL_ID, embeds=listing["embeds"],
                         components=listing["components"])
    up = next(c for c in _components(listing) if c.startswith("paperboy:judge:up:1:"))
    notes = len(api.of(fd.FOLLOWUP))
    client._connection.parse_interaction_create(fd.component_interaction(up, clicked,
                                                                         interaction_id=943000000000000003))
    await wait_for(lambda: len(api.of(fd.FOLLOWUP)) > notes)
    offer = api.of(fd.FOLLOWUP)[-1].json()
    assert "start a topic like this paper?" in shown(offer["content"])
    (start,) = _components(offer)
    assert _components(offer)[start] == "Start a topic like this"
    offered = fd.message(943000000000000004, fd.CHANNEL_ID, content=offer["content"], flags=64,
                         components=offer["components"])

    async def click_start(n: int, permissions: str) -> str:
        before = len(api.of(fd.FOLLOWUP))
        data = fd.component_interaction(start, offered, interaction_id=943000000000000010 + n)
        data["member"]["permissions"] = permissions
        client._connection.parse_interaction_create(data)
        await wait_for(lambda: len(api.of(fd.FOLLOWUP)) > before)
        return shown(api.of(fd.FOLLOWUP)[-1].json()["content"])

    assert "needs the Manage Channels permission" in await click_start(1, "0")
    ctx = ChatContext("discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID), str(ADA))
    assert "nothing yet" in (await bot.core.handle_command(ctx, "subscriptions", "")).message.plain_text()
    started = await click_start(2, str(1 << 4))  # MANAGE_CHANNELS
    assert started.startswith("Subscribed this channel to “")
    topic = started.split("“", 1)[1].split("”", 1)[0]
    assert f"already follows “{topic}”" in await click_start(3, str(1 << 4))
    taught = await _taught(db, Scope.for_channel("discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID)))
    assert taught[topic] == (1, 0) and taught["none"] == (1, 0)  # the 👍, and the example the topic started from


async def test_discord_like_n_in_a_channel_thread_needs_manage_channels(db, api, client):
    from storage.destination_store import ensure_destination
    from tests.chat_fixtures import NOW, TODAY

    await ingest_samples(db)
    bot = make_bot(db)
    adapter = DiscordAdapter(bot.core, client)
    async with db.session() as s:
        destination = await ensure_destination(s, "discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID), "papers")
    digests = DigestRunner(bot.core.services, {"discord": adapter.poster(interval=0)}, owner="test",
                           settings=DigestSettings(lease_seconds=300))
    assert (await digests.run_one(destination, TODAY, now=NOW)).status == "posted"  # by upvotes: no topics
    thread_id = int(api.of(fd.THREAD)[0].path.split("/")[-2])
    state = client._connection  # the owner (fd.USER_ID) may manage channels; a plain member may not
    state.parse_guild_create({"id": str(fd.GUILD_ID), "name": "Lab", "owner_id": str(ADA), "roles": [],
                              "emojis": [], "stickers": [], "features": [], "member_count": 2, "members": [],
                              "channels": [fd.text_channel()], "threads": [fd.thread_channel(thread_id)],
                              "unavailable": False})

    async def say(n: int, author: int, text: str) -> str:
        before = len(api.of(fd.MESSAGE))
        message = fd.message(971000000000000000 + n, thread_id, author=fd.user(author, f"user{author % 1000}"),
                             content=f"<@{fd.BOT_ID}> {text}", mentions=[fd.user(fd.BOT_ID, "Paperboy", bot=True)])
        member = {"roles": [], "joined_at": fd.TIMESTAMP, "deaf": False, "mute": False, "flags": 0}
        state.parse_message_create({**message, "guild_id": str(fd.GUILD_ID), "member": member})
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > before)
        embed = api.of(fd.MESSAGE)[-1].json()["embeds"][0]
        return shown(embed.get("description") or embed.get("title") or "")

    assert "needs the Manage Channels permission" in await say(1, 930000000000000002, "like 1")
    assert "start a topic like this paper?" in await say(2, 930000000000000002, "more 1")  # judging: open
    started = await say(3, ADA, "like 1")
    assert started.startswith("Subscribed this channel to “")
    ctx = ChatContext("discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID), str(ADA))
    topics = (await make_bot(db).core.handle_command(ctx, "subscriptions", "")).message.plain_text()
    assert started.split("“", 1)[1].split("”", 1)[0] in topics
