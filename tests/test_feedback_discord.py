"""👍 / 👎 on Discord: persistent DynamicItem buttons under a digest, clicked through discord.py's own gateway
handler (INTERACTION_CREATE → view store) against the fake Discord, in a process started after the digest
was posted."""

from __future__ import annotations

import re
from typing import Any, cast

import discord

from adapters.discord.discord_adapter import DiscordAdapter, DiscordOptions, make_client
from bot.commands.context import ChatContext
from tests.chat_fixtures import ingest_samples, make_bot
from tests.fakes import fake_discord as fd
from tests.fakes.fake_discord import FakeDiscord
from tests.test_discord_adapter import discord_destination, wait_for

CTX = ChatContext("discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID), str(fd.USER_ID))


async def logged_in() -> discord.Client:
    client = make_client(DiscordOptions(post_interval=0))
    await client.login("fake-token")
    return client


def shown(markdown: str) -> str:
    """What Discord displays for escaped text: a backslash before punctuation is dropped, the character kept."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", markdown)


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    return {c["custom_id"]: c["label"] for row in message.get("components", []) for c in row["components"]}


async def _click(client: discord.Client, api: FakeDiscord, clicked: dict[str, Any], custom_id: str,
                 user_id: int, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    edits, notes = len(api.of(fd.EDIT_ORIGINAL)), len(api.of(fd.FOLLOWUP))
    client._connection.parse_interaction_create(fd.component_interaction(custom_id, clicked, user_id=user_id,
                                                                         interaction_id=941000000000000000 + n))
    await wait_for(lambda: len(api.of(fd.EDIT_ORIGINAL)) > edits and len(api.of(fd.FOLLOWUP)) > notes)
    return api.of(fd.EDIT_ORIGINAL)[-1].json(), api.of(fd.FOLLOWUP)[-1].json()


async def test_buttons_under_a_digest_work_after_a_restart_and_show_counts(db, api):
    await ingest_samples(db)
    first = make_bot(db)
    await first.core.handle_command(CTX, "subscribe", "mixture of experts")
    reply = await first.core.handle_command(CTX, "papers", "today")
    before = await logged_in()
    try:
        await DiscordAdapter(first.core, before).poster(interval=0).post_digest(discord_destination(), reply.message)
    finally:
        await before.close()
    posted = api.posted[fd.CHANNEL_ID][-1]
    buttons = _buttons(posted)
    ref = reply.message.items[1].actions[0].paper_ref
    up, down = f"paperboy:judge:up:2:{ref}", f"paperboy:judge:down:2:{ref}"
    assert buttons[up] == "👍 2" and buttons[down] == "👎 2"
    assert len(buttons) == 2 * len(reply.message.items) <= 25

    after = await logged_in()  # a new process: nothing of the first client's views survives
    try:
        DiscordAdapter(make_bot(db).core, after)
        edit, note = await _click(after, api, posted, down, fd.USER_ID, 1)
        assert api.of(fd.DEFER)[-1].json()["type"] == 6  # acknowledged at once: the message update follows
        assert _buttons(edit)[down] == "👎 2 · 1" and _buttons(edit)[up] == "👍 2"
        assert note["flags"] & 64 and note["allowed_mentions"] == {"parse": []}
        assert shown(note["content"]).startswith("Noted — not for us:") and "mixture of experts" in note["content"]
        # the message as Discord now holds it: its buttons relabelled by the first click
        edit, _ = await _click(after, api, posted | {"components": edit["components"]}, down, fd.USER_ID + 1, 2)
        assert _buttons(edit)[down] == "👎 2 · 2"
        edit, note = await _click(after, api, posted, down, fd.USER_ID, 3)  # the same click again: withdrawn
        assert _buttons(edit)[down] == "👎 2 · 1" and "withdrawn" in shown(note["content"])
        # the relabelled buttons were only shown: the process keeps no view per clicked message (it would grow
        # with every message anyone clicked), the DynamicItems answer every click
        assert after.persistent_views == []
    finally:
        await after.close()
    summary = await first.core.handle_command(CTX, "papers", "feedback")
    assert "mixture of experts: 👍 0 · 👎 1" in (summary.message.body or "")


def test_no_button_id_is_longer_than_discord_allows():
    """Discord refuses a whole message whose button custom_id is over 100 characters (50035): a paper whose
    reference would make either verdict's id longer gets no buttons (“more N” still judges it)."""
    from adapters.discord.discord_feedback import judge_button_class, judge_view
    from bot.messages import Action, ActionKind, PaperItem

    button = judge_button_class(cast(Any, None), lambda interaction: None)  # no click here: no core needed
    items = [PaperItem(number=10 + n, paper_id=n, title=f"Paper {n}",
                       actions=(Action(ActionKind.RELEVANT, "👍", "x" * length),))
             for n, length in enumerate([20, 76, 77, 78, 80])]
    view = judge_view(button, items)
    assert view is not None
    ids = [child.custom_id for child in view.children]
    assert all(len(i) <= 100 for i in ids)
    assert {i.split(":")[3] for i in ids} == {"10", "11", "12"}  # refs of 20, 76 and 77 characters fit


FORUM_ID = 920000000000000009
POST = fd.thread_channel(920000000000000010, FORUM_ID, "Reading group", owner_id=fd.USER_ID)  # a forum's post


async def test_a_channel_topic_is_started_only_where_its_digest_can_be_posted(db, api):
    """"Start a topic like this" under a 👍 makes a channel topic, and with it the channel's daily digest: in a
    forum post (the forum takes no messages itself; discord.py has not cached it here, so Discord is asked) or
    where the bot may not post embeds it is refused, as /subscribe is; without the thread permissions it starts,
    with a note on what the digest's thread needs."""
    from bot.scope import Scope
    from storage.destination_store import get_destination
    from storage.subscription_store import list_topics

    await ingest_samples(db)
    api.channels[FORUM_ID] = fd.forum_channel(FORUM_ID)
    client = await logged_in()
    ids = iter(range(944000000000000001, 944000000000000100))

    async def answer(payload: dict[str, Any]) -> dict[str, Any]:
        before = len(api.of(fd.FOLLOWUP))
        client._connection.parse_interaction_create(payload)
        await wait_for(lambda: len(api.of(fd.FOLLOWUP)) > before)
        return api.of(fd.FOLLOWUP)[-1].json()

    try:
        DiscordAdapter(make_bot(db).core, client)
        await answer(fd.interaction("papers", subcommand="today", channel=POST, interaction_id=next(ids)))
        listing = next(r.json() for r in api.of(fd.FOLLOWUP) if "components" in r.json())
        up = next(c for c in _buttons(listing) if c.startswith("paperboy:judge:up:1:"))
        clicked = fd.message(next(ids), int(POST["id"]), embeds=listing["embeds"], components=listing["components"])
        offer = await answer(fd.component_interaction(up, clicked, interaction_id=next(ids), channel=POST))
        (start,) = _buttons(offer)
        offered = fd.message(next(ids), int(POST["id"]), content=offer["content"], flags=64,
                             components=offer["components"])

        async def click_start(channel: dict[str, Any], app_permissions: int = fd.BOT_PERMISSIONS) -> str:
            data = fd.component_interaction(start, offered, interaction_id=next(ids), channel=channel,
                                            app_permissions=app_permissions)
            data["member"]["permissions"] = str(fd.MANAGE_CHANNELS)
            note = await answer(data)
            assert note["flags"] & 64
            return shown(note["content"])

        in_forum = await click_start(POST)
        no_embeds = await click_start(fd.text_channel(), fd.BOT_PERMISSIONS & ~fd.EMBED_LINKS)
        no_threads = await click_start(fd.text_channel(), fd.BOT_PERMISSIONS & ~fd.SEND_MESSAGES_IN_THREADS)
    finally:
        await client.close()
    assert in_forum.startswith("A forum gets no digest")
    assert f"{fd.API}/channels/{FORUM_ID}" in [rec.path for rec in api.of("channel")]
    assert "missing the Embed Links permission" in no_embeds
    assert no_threads.startswith("Subscribed this channel to “")
    assert "missing the Send Messages in Threads permission" in no_threads
    async with db.session() as s:
        assert await get_destination(s, f"discord:{fd.GUILD_ID}:{FORUM_ID}") is None
        assert await list_topics(s, Scope.for_channel("discord", str(fd.GUILD_ID), str(FORUM_ID))) == []
        assert len(await list_topics(s, Scope.for_channel("discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID)))) == 1
