"""Personal topics on Discord, through discord.py's real HTTP client and command tree against the fake Discord:
`/digest personal:true`, the DM digest (Create DM, then a message there), the ephemeral "for you"
follow-up, and mentions with `allowed_mentions` listing exactly the opted-in users."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import discord

from adapters.discord.discord_adapter import DiscordAdapter, DiscordPoster
from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.papers import ParsedPaper
from storage.database import Database
from storage.delivery_store import get_delivery
from storage.destination_store import get_destination
from storage.paper_store import store_papers
from tests.chat_fixtures import make_bot
from tests.fakes import fake_discord as fd
from tests.personal_fixtures import DAY1, DAY2, DIFFUSION, GNN, at, store_day

ADA = fd.USER_ID  # the fake's interactions come from her
BOB = 930000000000000002
CAROL = 930000000000000003
CHANNEL_KEY = f"discord:{fd.GUILD_ID}:{fd.CHANNEL_ID}"
_ids = iter(range(941000000000000001, 941000000000099999))


async def invoke(adapter: DiscordAdapter, command: str, options: list[dict[str, Any]] | None = None, *,
                 sub: str | None = None, user: int = ADA, permissions: int = fd.SEND_MESSAGES) -> None:
    payload = fd.interaction(command, options, subcommand=sub, interaction_id=next(_ids), permissions=permissions)
    payload["member"]["user"] = fd.user(user, f"user{user % 1000}")
    await adapter.tree._call(discord.Interaction(data=payload, state=adapter.client._connection))


def shown(markdown: str) -> str:
    """What Discord displays for escaped text: a backslash before punctuation is dropped, the character kept."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", markdown)


def text(value: str, name: str) -> dict[str, Any]:
    return {"type": 3, "name": name, "value": value}


def runner(db: Database, client: discord.Client) -> DigestRunner:
    return DigestRunner(make_bot(db, now=at(DAY1, 9)).core.services, {"discord": DiscordPoster(client, interval=0)},
                        owner="proc-1", settings=DigestSettings(lease_seconds=300))


async def test_personal_digest_is_set_privately_and_sent_once_to_the_persons_dm(db, api, client):
    await store_day(db, DAY1)
    adapter = DiscordAdapter(make_bot(db).core, client)
    await invoke(adapter, "subscribe", [text(GNN, "topic"), {"type": 5, "name": "personal", "value": True}])
    await invoke(adapter, "digest", [text("08:00 UTC", "setting"), {"type": 5, "name": "personal", "value": True}])
    assert api.of(fd.DEFER)[-1].json()["data"]["flags"] & 64  # answered privately
    answer = api.of(fd.FOLLOWUP)[-1].json()
    assert answer["flags"] & 64 and "direct message at 08:00 UTC" in shown(answer["embeds"][0]["description"])
    async with db.session() as s:
        mine = await get_destination(s, f"discord:{fd.GUILD_ID}:@{ADA}")
        channel = await get_destination(s, CHANNEL_KEY)
    assert mine is not None and mine.user_id == str(ADA) and mine.digest_enabled and channel is None
    outcomes = await runner(db, client).run_due()
    assert [(o.destination, o.status) for o in outcomes] == [(f"discord:{fd.GUILD_ID}:@{ADA}", "posted")]
    (opened,) = api.of(fd.DM_OPEN)
    assert str(opened.json()["recipient_id"]) == str(ADA)
    dm_channel = int(api.dms[ADA]["id"])
    (sent,) = api.of(fd.MESSAGE)
    assert sent.path == f"{fd.API}/channels/{dm_channel}/messages"
    body = sent.json()
    assert body["allowed_mentions"] == {"parse": []} and not body.get("content")
    assert body["embeds"][0]["title"].endswith("· for you")
    assert sum(e.get("description", "").count("Graph neural networks for molecules") for e in body["embeds"]) == 3
    assert not api.of(fd.THREAD)  # no threads in a DM
    assert await runner(db, client).run_due() == []  # posted: not due again that day
    assert len(api.of(fd.MESSAGE)) == 1


async def test_closed_dms_are_a_failure_with_backoff_that_never_blocks_the_others(db, api, client):
    await store_day(db, DAY1)
    adapter = DiscordAdapter(make_bot(db).core, client)
    for user in (ADA, BOB):
        await invoke(adapter, "subscribe", [text(GNN, "topic"), {"type": 5, "name": "personal", "value": True}],
                     user=user)
        await invoke(adapter, "digest", [text("08:00", "setting"), {"type": 5, "name": "personal", "value": True}],
                     user=user)
    api.closed_dms.add(BOB)
    outcomes = {o.destination: o for o in await runner(db, client).run_due()}
    assert outcomes[f"discord:{fd.GUILD_ID}:@{ADA}"].status == "posted"
    refused = outcomes[f"discord:{fd.GUILD_ID}:@{BOB}"]
    assert refused.status == "failed" and "Cannot send messages to this user" in refused.detail
    async with db.session() as s:
        failed = await get_delivery(s, f"discord:{fd.GUILD_ID}:@{BOB}", DAY1)
    assert failed is not None and failed.status == "failed" and failed.next_attempt_at is not None


async def test_papers_today_sends_the_for_you_part_as_an_ephemeral_follow_up(db, api, client):
    await store_day(db, DAY1)
    adapter = DiscordAdapter(make_bot(db, now=at(DAY1, 10)).core, client)
    await invoke(adapter, "subscribe", [text(DIFFUSION, "topic")], user=BOB)
    await invoke(adapter, "subscribe", [text(GNN, "topic"), {"type": 5, "name": "personal", "value": True}])
    before = len(api.of(fd.FOLLOWUP))
    await invoke(adapter, "papers", sub="today")
    public, private = (rec.json() for rec in api.of(fd.FOLLOWUP)[before:])
    assert not public.get("flags", 0) & 64 and public["embeds"][0]["title"].startswith("Papers of")
    assert "Graph neural" not in str(public["embeds"])
    assert private["flags"] & 64 and private["embeds"][0]["title"] == "For you"
    assert private["allowed_mentions"] == {"parse": []}
    assert str(private["embeds"]).count("Graph neural networks for molecules") == 3


async def test_channel_digest_mentions_exactly_the_opted_in_users(db, api, client):
    await store_day(db, DAY1, diffusion=2)
    async with db.session() as s:  # a title that tries to ping Carol and everyone
        await store_papers(s, [ParsedPaper(title=f"Graph neural networks <@{CAROL}> @everyone survey",
                                           abstract="A survey of graph neural networks and graph neural network "
                                                    "benchmarks.", source="hf-api", arxiv_id="2604.20999",
                                           listed_on=DAY1, upvotes=2)])
    adapter = DiscordAdapter(make_bot(db).core, client)
    await invoke(adapter, "subscribe", [text(GNN, "topic")], permissions=fd.MANAGE_CHANNELS)  # channel-wide
    await invoke(adapter, "digest", [text("09:00 UTC", "setting")], permissions=fd.MANAGE_CHANNELS)
    for user in (BOB, CAROL):  # both follow GNN themselves; only Bob asks to be mentioned
        await invoke(adapter, "subscribe", [text(GNN, "topic"), {"type": 5, "name": "personal", "value": True}],
                     user=user)
    await invoke(adapter, "papers", [text("me on", "setting")], sub="mention", user=BOB)
    answer = api.of(fd.FOLLOWUP)[-1].json()
    assert answer["flags"] & 64 and "will mention you" in shown(answer["embeds"][0]["description"])
    await runner(db, client).run_due()
    (sent,) = [rec.json() for rec in api.of(fd.MESSAGE)]
    assert sent["allowed_mentions"] == {"parse": [], "users": [BOB]}
    assert sent["content"] == f"→ <@{BOB}>"
    described = "\n".join(e.get("description", "") for e in sent["embeds"])
    assert described.count(f"→ <@{BOB}>") == 4
    assert set(re.findall(r"<@(\d+)>", described + sent["content"])) == {str(BOB)}  # Carol's id stays inert
    # Bob opts out: the next digest mentions no one, and allows no one.
    await invoke(adapter, "papers", [text("me off", "setting")], sub="mention", user=BOB)
    async with db.session() as s:
        await store_papers(s, [ParsedPaper(title="Graph neural networks at scale", abstract="Graph neural networks "
                                           "scale; a graph neural network for everything.", source="hf-api",
                                           arxiv_id="2604.21999", listed_on=DAY2, upvotes=3)])
    async with db.session() as s:
        assert (await get_delivery(s, CHANNEL_KEY, DAY1)) is not None
    later = DigestRunner(make_bot(db, now=at(DAY1, 9)).core.services, {"discord": DiscordPoster(client, interval=0)},
                         owner="proc-2")
    async with db.session() as s:
        destination = await get_destination(s, CHANNEL_KEY)
    assert destination is not None
    await later.run_one(destination, DAY2)
    last = api.of(fd.MESSAGE)[-1].json()
    assert "Graph neural networks at scale" in str(last["embeds"])
    assert last["allowed_mentions"] == {"parse": []} and not last.get("content") and "<@" not in str(last["embeds"])


async def test_only_me_on_or_off_is_offered(db, api, client):
    adapter = DiscordAdapter(make_bot(db).core, client)
    papers = next(c for c in adapter.tree.get_commands() if c.name == "papers")
    mention = next(c for c in papers.commands if c.name == "mention")  # type: ignore[union-attr]
    (option,) = mention.parameters  # type: ignore[union-attr]
    assert [c.value for c in option.choices] == ["me on", "me off"]
    await asyncio.sleep(0)
