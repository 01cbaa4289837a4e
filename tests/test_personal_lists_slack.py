"""The buttons of a person's own lists on Slack (their digest's preview, the "for you" part of /papers today,
their DM digest), through bolt's real dispatch against the fake Slack: they judge and explain for the person's
own topics, never the channel's, although the preview and "for you" sit in the channel."""

from __future__ import annotations

from typing import Any

from bot.scope import Scope
from storage import feedback_store
from storage.database import Database
from tests.fakes.fake_slack import TEAM, FakeSlack, action_request
from tests.personal_fixtures import DAY1, DIFFUSION, GNN, store_day
from tests.test_personal_slack import command, fake, run_digests, runtime
from tests.waiting import wait_for

__all__ = ["fake"]  # the fixture, shared

YOU = Scope.for_user("slack", TEAM, "U1")
CHANNEL = Scope.for_channel("slack", TEAM, "C1")


async def _taught(db: Database, scope: Scope) -> dict[str, tuple[int, int]]:
    async with db.session() as session:
        return {f.topic: (f.relevant, f.not_relevant) for f in await feedback_store.summary(session, scope.key)}


def _value(blocks: list[dict[str, Any]], action_id: str) -> str:
    return str(next(e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]
                    if e["action_id"] == action_id))


async def _click(rt, fake: FakeSlack, blocks: list[dict[str, Any]], action_id: str, *, channel: str, n: int,
                 ephemeral: bool) -> str:
    """A click by U1; the text of the private answer it got (through response_url, or chat.postEphemeral in a
    thread)."""
    ephemerals = len(fake.calls("/api/chat.postEphemeral"))
    request = action_request(action_id, _value(blocks, action_id), message_ts=f"1700000{n:03d}.000001",
                             channel=channel, user="U1", blocks=blocks, response_url=fake.response_url(n),
                             ephemeral=ephemeral, action_ts=f"{1_700_000_001 + 30 * n}.000000")
    assert (await rt.app.async_dispatch(request)).status == 200

    def answers() -> list[str]:
        noted = [r["text"] for r in fake.responses(n) if r.get("replace_original") is False]
        posted = [r.json()["text"] for r in fake.calls("/api/chat.postEphemeral")[ephemerals:]]
        return noted + posted

    return (await wait_for(answers))[-1]


async def test_judging_a_paper_in_your_digest_preview_teaches_your_topics_not_the_channels(db, fake):
    """The preview sits in the channel (ephemeral), but lists the person's own papers: its 👎 taught the
    channel's topics, which never listed that paper."""
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    await command(rt, fake, f"/subscribe {DIFFUSION}", user="U9", n=1)
    await command(rt, fake, f"/subscribe --me {GNN}", user="U1", n=2)
    (preview,) = await command(rt, fake, "/papers digest --me preview", user="U1", n=3)
    assert preview["response_type"] == "ephemeral" and "Graph neural networks for molecules" in preview["text"]
    note = await _click(rt, fake, preview["blocks"], "paperboy:not_relevant:1", channel="C1", n=4, ephemeral=True)
    assert note.startswith("Noted — not for you:") and "your “graph neural networks”" in note
    assert await _taught(db, YOU) == {GNN: (0, 1)}
    assert await _taught(db, CHANNEL) == {}


async def test_your_digest_preview_says_whether_a_dm_will_come(db, fake):
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    await command(rt, fake, f"/subscribe --me {GNN}", user="U1", n=1)
    (off,) = await command(rt, fake, "/papers digest --me preview", user="U1", n=2)
    assert "your digest comes by direct message" not in off["text"]
    assert "Your personal digest is off: /papers digest --me HH:MM [TIMEZONE] sends it" in str(off["blocks"])
    await command(rt, fake, "/papers digest --me 07:30 Europe/Paris", user="U1", n=3)
    (on,) = await command(rt, fake, "/papers digest --me preview", user="U1", n=4)
    assert "your digest comes by direct message at 07:30 Europe/Paris." in str(on["blocks"])


async def test_why_on_your_own_lists_explains_your_topics(db, fake):
    """Why on "for you" explained the channel's topics (✗ diffusion models), and on the DM digest answered
    "This channel follows no topics yet" (the DM conversation's): both now explain the person's own."""
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    await command(rt, fake, f"/subscribe {DIFFUSION}", user="U9", n=1)
    await command(rt, fake, f"/subscribe --me {GNN}", user="U1", n=2)
    (private,) = await command(rt, fake, "/papers today", user="U1", n=3)
    assert private["blocks"][0]["text"]["text"] == "For you"
    why = await _click(rt, fake, private["blocks"], "paperboy:why:1", channel="C1", n=4, ephemeral=True)
    assert why.startswith("Why: Graph neural networks for molecules") and "✓ graph neural networks:" in why
    assert "diffusion" not in why

    await command(rt, fake, "/papers digest --me 08:00 UTC", user="U1", n=5)
    outcomes = {o.destination: o.status for o in await run_digests(db, rt).run_due()}
    assert outcomes[f"slack:{TEAM}:@U1"] == "posted"
    (dm,) = [p for p in fake.posts() if p["channel"] == "DU1"]
    why = await _click(rt, fake, dm["blocks"], "paperboy:why:2", channel="DU1", n=6, ephemeral=False)
    assert why.startswith("Why: Graph neural networks for molecules") and "✓ graph neural networks:" in why
    # the DM digest's judging buttons still teach the person
    note = await _click(rt, fake, dm["blocks"], "paperboy:relevant:1", channel="DU1", n=7, ephemeral=False)
    assert note.startswith("Noted — relevant:") and "your “graph neural networks”" in note
    assert await _taught(db, YOU) == {GNN: (1, 0)} and await _taught(db, CHANNEL) == {}

    # Why on the channel's own list still explains the channel's topics.
    public = next(p for p in fake.posts() if p["channel"] == "C1")  # /papers today's list
    why = await _click(rt, fake, public["blocks"], "paperboy:why:1", channel="C1", n=8, ephemeral=True)
    assert "✓ diffusion models:" in why and "graph neural" not in why.split("\n", 1)[1]


def _label(blocks: list[dict[str, Any]], action_id: str) -> str:
    return str(next(e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]
                    if e["action_id"] == action_id))


async def test_your_own_lists_say_not_for_me_and_keep_saying_it_after_a_click(db, fake):
    """A person's own lists (the "for you" part, their digest's preview, their DM digest) offered "👎 Not for us",
    which reads as the channel's verdict: they say "Not for me", also once a click has added the count; the
    channel's own list keeps "Not for us"."""
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    await command(rt, fake, f"/subscribe {DIFFUSION}", user="U9", n=1)
    await command(rt, fake, f"/subscribe --me {GNN}", user="U1", n=2)
    (private,) = await command(rt, fake, "/papers today", user="U1", n=3)
    (public,) = await wait_for(lambda: fake.posts())
    assert _label(public["blocks"], "paperboy:not_relevant:1") == "👎 Not for us"
    assert _label(private["blocks"], "paperboy:not_relevant:1") == "👎 Not for me"
    assert _label(private["blocks"], "paperboy:relevant:1") == "👍 Relevant"
    (preview,) = await command(rt, fake, "/papers digest --me preview", user="U1", n=4)
    assert _label(preview["blocks"], "paperboy:not_relevant:2") == "👎 Not for me"

    await command(rt, fake, "/papers digest --me 08:00 UTC", user="U1", n=5)
    await run_digests(db, rt).run_due()
    (dm,) = [p for p in fake.posts() if p["channel"] == "DU1"]
    assert _label(dm["blocks"], "paperboy:not_relevant:3") == "👎 Not for me"
    # the click relabels the message with the counts: still the person's wording
    await _click(rt, fake, private["blocks"], "paperboy:not_relevant:1", channel="C1", n=6, ephemeral=True)
    replaced = await wait_for(lambda: [r for r in fake.responses(6) if r.get("replace_original") is True])
    assert _label(replaced[-1]["blocks"], "paperboy:not_relevant:1") == "👎 Not for me · 1"
    assert await _taught(db, YOU) == {GNN: (0, 1)}
