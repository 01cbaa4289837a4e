"""Replies under a person's DM digest on Slack (message.im events in the D… channel, through bolt's real
dispatch against the fake Slack), and DM digests that have nothing to send."""

from __future__ import annotations

import asyncio

from storage.delivery_store import NOTHING_SENT, get_delivery
from tests.fakes.fake_slack import TEAM, event_request
from tests.personal_fixtures import DAY1, GNN, store_day
from tests.test_personal_slack import command, fake, run_digests, runtime, wait_for

__all__ = ["fake"]  # the fixture, shared with the personal Slack tests


def im_reply(user: str, channel: str, thread_ts: str, text: str, n: int) -> dict[str, object]:
    return {"type": "message", "channel": channel, "channel_type": "im", "user": user, "text": text,
            "ts": f"1700000999.{n:06d}", "thread_ts": thread_ts}


async def test_summarize_and_questions_under_a_dm_digest_are_answered_in_its_thread(db, fake):
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    await command(rt, fake, f"/subscribe --me {GNN}", user="U1", n=1)
    await command(rt, fake, "/papers digest --me 08:00 UTC", user="U1", n=2)
    assert [o.status for o in await run_digests(db, rt).run_due()] == ["posted"]
    digest_ts = fake.history["DU1"][0]["ts"]

    await rt.app.async_dispatch(event_request(im_reply("U1", "DU1", digest_ts, "summarize 1", 1), event_id="Ev1"))
    summary = (await wait_for(lambda: fake.posts()[1:]))[0]
    assert summary["channel"] == "DU1" and summary["thread_ts"] == digest_ts
    assert summary["text"].startswith("Summary: Graph neural networks for molecules")

    # No mention and no question mark needed: in a DM everything is said to the bot.
    await rt.app.async_dispatch(event_request(im_reply("U1", "DU1", digest_ts, "tl;dr 1", 2), event_id="Ev2"))
    await rt.app.async_dispatch(event_request(im_reply("U1", "DU1", digest_ts, "1: which molecules do they use",
                                                       3), event_id="Ev3"))
    answers = await wait_for(lambda: len(fake.posts()) >= 4 and fake.posts()[2:])
    # the two replies are handled concurrently: on a busy machine the question can be answered first
    answers.sort(key=lambda a: not a["text"].startswith("TL;DR"))
    assert answers[0]["text"].startswith("TL;DR: Graph neural networks for molecules")
    assert answers[1]["text"].startswith("Q: which molecules do they use")
    assert all(a["channel"] == "DU1" and a["thread_ts"] == digest_ts for a in answers)


async def test_someone_else_or_another_conversation_gets_no_answer_from_a_persons_digest(db, fake):
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    await command(rt, fake, f"/subscribe --me {GNN}", user="U1", n=1)
    await command(rt, fake, "/papers digest --me 08:00 UTC", user="U1", n=2)
    await run_digests(db, rt).run_due()
    digest_ts = fake.history["DU1"][0]["ts"]
    # U2, in their own DM, names U1's digest's ts: not theirs. U1 in a channel thread with that ts: not a DM.
    await rt.app.async_dispatch(event_request(im_reply("U2", "DU2", digest_ts, "summarize 1", 1), event_id="Ev1"))
    channel_event = {**im_reply("U1", "C1", digest_ts, "summarize 1", 2), "channel_type": "channel"}
    await rt.app.async_dispatch(event_request(channel_event, event_id="Ev2"))
    await asyncio.sleep(0.3)
    assert len(fake.posts()) == 1  # the digest only


async def test_a_dm_digest_with_nothing_to_send_posts_nothing_and_is_done_for_the_day(db, fake):
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    (warned,) = await command(rt, fake, "/papers digest --me 08:00 UTC", user="U1", n=1)  # no topics of U1's own
    assert "follow no topics of your own" in warned["text"] and "/subscribe --me TOPIC" in warned["text"]
    outcomes = await run_digests(db, rt).run_due()
    assert [(o.status, o.detail) for o in outcomes] == [("skipped", "nothing to send")]
    assert fake.opens() == [] and fake.posts() == []  # not even the DM is opened
    async with db.session() as s:
        delivery = await get_delivery(s, f"slack:{TEAM}:@U1", DAY1)
    assert delivery is not None and delivery.status == "posted" and delivery.message_ref == NOTHING_SENT
    assert await run_digests(db, rt, hour=10).run_due() == []  # done for the day: not due again
    assert fake.posts() == []


async def test_a_dm_digest_names_the_workspace_whose_topics_it_follows(db, fake):
    """Someone in two workspaces gets a DM digest from each, with the same header: the header says which one
    (auth.test's team name for the workspace's token, asked once)."""
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    await command(rt, fake, f"/subscribe --me {GNN}", user="U1", n=1)
    await command(rt, fake, "/papers digest --me 08:00 UTC", user="U1", n=2)
    await command(rt, fake, f"/subscribe --me {GNN}", user="U2", n=3)
    await command(rt, fake, "/papers digest --me 08:00 UTC", user="U2", n=4)
    asked = len(fake.calls("/api/auth.test"))  # bolt asks too, for its own reasons
    assert sorted(o.status for o in await run_digests(db, rt).run_due()) == ["posted", "posted"]
    headers = [post["blocks"][0]["text"]["text"] for post in fake.posts()]
    assert headers == ["Paperboy · Mon Apr 20, 2026 · for you in Paper Team"] * 2
    assert len(fake.calls("/api/auth.test")) - asked == 1
