"""The Discord adapter without a gateway: discord.py's real HTTP client against a fake Discord on 127.0.0.1.

Interactions are built from gateway payloads and dispatched through the real CommandTree; messages arrive
through the client's own gateway parsers. Every send is checked for empty allowed mentions and every embed
against Discord's limits.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import discord
import pytest

from adapters.discord.discord_adapter import DiscordAdapter, DiscordOptions, DiscordPoster, make_client
from adapters.discord.discord_renderer import render_message
from adapters.discord.discord_setup import invite_url
from bot.destination import Destination
from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.digests.poster import DigestTag
from bot.errors import DeliveryError
from bot.messages import Message, PaperItem
from bot.papers import ParsedPaper
from bot.summaries.llm_summarizer import LlmSummarizer, make_openai_client
from bot.summaries.summary_service import SummaryService
from bot.topics.subscriptions import subscribe
from storage.delivery_store import get_delivery
from storage.destination_store import ensure_destination, find_posted
from storage.paper_store import store_papers
from tests.chat_fixtures import NOW, TODAY, ingest_samples, make_bot
from tests.digest_crash import post_then_die, take_over
from tests.fakes import fake_discord as fd
from tests.fakes.fake_discord import FakeDiscord
from tests.fakes.fake_openai import FakeOpenAI, hanging
from tests.fakes.http_server import Reply

HOSTILE = "@everyone <@123> <@&456> **bold** [click](https://evil.example) @here"
NO_MENTIONS = {"parse": []}


def embed_problems(embeds: list[dict[str, Any]]) -> list[str]:
    """Discord's limits, checked on the JSON that went over the wire."""
    problems = []
    if len(embeds) > 10:
        problems.append("more than 10 embeds")
    total = 0
    for e in embeds:
        title, desc = e.get("title", ""), e.get("description", "")
        footer = (e.get("footer") or {}).get("text", "")
        fields = e.get("fields", [])
        total += len(title) + len(desc) + len(footer) + sum(len(f["name"]) + len(f["value"]) for f in fields)
        problems += [p for p, bad in [("title", len(title) > 256), ("description", len(desc) > 4096),
                                      ("footer", len(footer) > 2048), ("fields", len(fields) > 25),
                                      ("field", any(len(f["value"]) > 1024 or len(f["name"]) > 256 for f in fields))]
                     if bad]
    if total > 6000:
        problems.append(f"{total} characters across embeds")
    return problems


def assert_safe_sends(api: FakeDiscord) -> None:
    sends = api.sends()
    assert sends
    for body in sends:
        assert body.get("allowed_mentions") == NO_MENTIONS, body.get("allowed_mentions")
        assert not embed_problems(body.get("embeds", []))


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    with FakeDiscord() as fake:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.url + fd.API)
        yield fake


@pytest.fixture
async def client(api: FakeDiscord) -> AsyncIterator[discord.Client]:
    bot = make_client(DiscordOptions(post_interval=0))
    await bot.login("fake-token")  # REST only: /users/@me and the application, from the fake
    try:
        yield bot
    finally:
        await bot.close()


async def invoke(adapter: DiscordAdapter, payload: dict[str, Any]) -> None:
    interaction: discord.Interaction = discord.Interaction(data=payload, state=adapter.client._connection)
    await adapter.tree._call(interaction)  # what the gateway's INTERACTION_CREATE handler runs


async def wait_for(predicate: Any, within: float = 60.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - the fake server runs in its own thread: polling is the way
            await asyncio.sleep(0.01)


def discord_destination() -> Destination:
    return Destination(key=f"discord:{fd.GUILD_ID}:{fd.CHANNEL_ID}", platform="discord", workspace=str(fd.GUILD_ID),
                       channel=str(fd.CHANNEL_ID), name="papers")


async def test_papers_today_defers_at_once_while_the_llm_hangs(db, api, client):
    await ingest_samples(db)
    with FakeOpenAI() as llm:
        llm.always(hanging(60))
        openai_client = make_openai_client(llm.base_url, None, 3.0)
        service = SummaryService(db, llm=LlmSummarizer(openai_client, "fake-model", timeout=3.0, attempts=1),
                                 today=lambda: TODAY)
        adapter = DiscordAdapter(make_bot(db, summaries=service).core, client)
        started = time.monotonic()
        task = asyncio.create_task(invoke(adapter, fd.interaction("papers", subcommand="today")))
        await wait_for(lambda: api.of(fd.DEFER))
        deferred_after = time.monotonic() - started
        # Within Discord's 3 s, which is also the LLM's timeout: the answer cannot have waited for the LLM.
        assert deferred_after < 3.0
        assert not api.of(fd.FOLLOWUP) and not task.done()
        await asyncio.wait_for(task, 60)
        await openai_client.close()
    assert llm.calls  # the LLM was asked for TL;DRs, hung, and the offline ones stood in
    assert api.kinds().index(fd.DEFER) < api.kinds().index(fd.FOLLOWUP)
    defer = api.of(fd.DEFER)[0].json()
    assert defer["type"] == 5 and not (defer.get("data") or {}).get("flags", 0) & 64  # public
    followup = api.of(fd.FOLLOWUP)[0].json()
    text = "\n".join(e.get("description", "") for rec in api.of(fd.FOLLOWUP) for e in rec.json()["embeds"])
    assert followup["embeds"][0]["title"].startswith("Papers of")
    assert all(f"**{n}. " in text for n in range(1, 11)), text[:1500]  # the ranked list
    assert_safe_sends(api)
    # The list is remembered: a reply under it can say "summarize 2".
    async with db.session() as s:
        first_followup = str(fd.FIRST_ID)  # the fake hands out ids in order
        assert (await find_posted(s, f"discord:{fd.GUILD_ID}:{fd.CHANNEL_ID}", first_followup)) is not None


def sixty_papers() -> Message:
    items = [PaperItem(number=i, paper_id=i, title=f"{HOSTILE} {'Very long title ' * 20}{i}",
                       url=f"https://arxiv.org/abs/2604.{i:05d}", arxiv_id=f"2604.{i:05d}", upvotes=i,
                       tldr="A summary sentence that goes on. " * 40, why="graph neural networks: title " * 20,
                       authors=("Ada Lovelace", "Alan Turing", "Grace Hopper"), author_count=12)
             for i in range(1, 61)]
    return Message(header=f"Paperboy · Mon Apr 20, 2026 {HOSTILE}", items=items,
                   context=["Topics: " + ", ".join(["graph neural networks"] * 30), "4 more — /papers today"])


async def test_sixty_paper_digest_splits_within_every_limit_and_opens_its_thread(api, client):
    poster = DiscordPoster(client, interval=0)
    result = await poster.post_digest(discord_destination(), sixty_papers())
    posts = api.of(fd.MESSAGE)
    assert len(posts) >= 2
    numbers = []
    for rec in posts:
        body = rec.json()
        assert rec.path == f"{fd.API}/channels/{fd.CHANNEL_ID}/messages"
        assert not embed_problems(body["embeds"]), embed_problems(body["embeds"])
        for embed in body["embeds"]:
            numbers += [int(n) for n in re.findall(r"^\*\*(\d+)\. \[", embed.get("description", ""), flags=re.M)]
    assert numbers == list(range(1, 61))  # every paper once, in order
    threads = api.of(fd.THREAD)
    assert len(threads) == 1
    first_id = fd.FIRST_ID
    assert threads[0].path == f"{fd.API}/channels/{fd.CHANNEL_ID}/messages/{first_id}/threads"
    thread_body = threads[0].json()
    assert thread_body["auto_archive_duration"] == 1440 and 0 < len(thread_body["name"]) <= 100
    assert "@everyone" not in thread_body["name"]
    assert result.message_ref == str(first_id) and result.thread_ref == str(first_id)
    assert_safe_sends(api)
    # The renderer alone agrees, batch by batch.
    for batch in render_message(sixty_papers()):
        assert len(batch) <= 10 and sum(len(e) for e in batch) <= 6000


async def test_mention_asking_to_summarize_2_in_a_digest_thread_is_answered_there(db, api, client):
    await ingest_samples(db)
    bot = make_bot(db)
    adapter = DiscordAdapter(bot.core, client)
    async with db.session() as s:
        destination = await ensure_destination(s, "discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID), "papers")
    runner = DigestRunner(bot.core.services, {"discord": adapter.poster(interval=0)}, owner="test",
                          settings=DigestSettings(lease_seconds=300))
    outcome = await runner.run_one(destination, TODAY, now=NOW)
    assert outcome.status == "posted", outcome
    thread_id = int(api.of(fd.THREAD)[0].path.split("/")[-2])
    # The gateway tells the client about the server, its channel and the digest thread, then the mention.
    state = client._connection
    state.parse_guild_create({"id": str(fd.GUILD_ID), "name": "Lab", "owner_id": str(fd.USER_ID), "roles": [],
                              "emojis": [], "stickers": [], "features": [], "member_count": 2, "members": [],
                              "channels": [fd.text_channel()], "threads": [fd.thread_channel(thread_id)],
                              "unavailable": False})
    before = len(api.of(fd.MESSAGE))
    mention = fd.message(970000000000000001, thread_id, author=fd.user(fd.USER_ID, "ada"),
                         content=f"<@{fd.BOT_ID}> summarize 2", mentions=[fd.user(fd.BOT_ID, "Paperboy", bot=True)])
    state.parse_message_create({**mention, "guild_id": str(fd.GUILD_ID)})
    await wait_for(lambda: len(api.of(fd.MESSAGE)) > before)
    answer = api.of(fd.MESSAGE)[-1]
    assert answer.path == f"{fd.API}/channels/{thread_id}/messages"
    embed = answer.json()["embeds"][0]
    async with db.session() as s:
        posted = await find_posted(s, destination.key, str(thread_id))
        assert posted is not None
        from storage.models import Paper

        second = await s.get(Paper, int(posted.paper_ids[1]))
    assert embed["title"].startswith("Summary:") and second is not None
    assert second.title.split()[0] in embed["title"]
    assert api.of(fd.TYPING)  # "Paperboy is typing…" while the summary is made
    assert_safe_sends(api)
    # Chatter without a mention is not for the bot (and without the content intent, Discord sends no text).
    chatter = fd.message(970000000000000002, thread_id, author=fd.user(fd.USER_ID, "ada"), content="nice paper")
    state.parse_message_create({**chatter, "guild_id": str(fd.GUILD_ID)})
    await asyncio.sleep(0.2)
    assert api.of(fd.MESSAGE)[-1] is answer


async def test_hostile_titles_ping_no_one_anywhere(db, api, client):
    async with db.session() as s:
        await store_papers(s, [ParsedPaper(title=f"{HOSTILE} graph networks {i}", source="hf-api",
                                           abstract="We study graph networks. @everyone should read it.",
                                           arxiv_id=f"2604.20{i:03d}", listed_on=TODAY, upvotes=i)
                               for i in range(3)])
        await subscribe(s, make_bot(db).console.context().channel_scope, "graph networks", by="ada")
    bot = make_bot(db)
    adapter = DiscordAdapter(bot.core, client)
    await invoke(adapter, fd.interaction("papers", subcommand="today"))
    await invoke(adapter, fd.interaction("papers", [{"type": 3, "name": "query", "value": HOSTILE}],
                                         subcommand="search", interaction_id=940000000000000002))
    await DiscordPoster(client, interval=0).post_digest(discord_destination(), sixty_papers())
    assert_safe_sends(api)
    for body in api.sends():
        for embed in body.get("embeds", []):
            text = " ".join([embed.get("title", ""), embed.get("description", ""),
                             (embed.get("footer") or {}).get("text", "")])
            for raw in ("@everyone", "@here", "<@123>", "<@&456>", "[click](https://evil"):
                assert raw not in text, (raw, text[:200])
    assert api.of(fd.FOLLOWUP)  # both commands answered


async def test_errors_are_private_and_autocomplete_offers_the_channels_topics(db, api, client):
    bot = make_bot(db)
    adapter = DiscordAdapter(bot.core, client)
    ctx_scope = f"discord:{fd.GUILD_ID}:{fd.CHANNEL_ID}"
    await invoke(adapter, fd.interaction("papers", [{"type": 3, "name": "paper", "value": "9999.99999"}],
                                         subcommand="show"))
    # A public defer, then an error: the placeholder is removed and the answer is ephemeral.
    assert [k for k in api.kinds() if k not in ("login", "app")][:3] == [fd.DEFER, fd.DELETE_ORIGINAL, fd.FOLLOWUP]
    assert api.of(fd.FOLLOWUP)[0].json()["flags"] & 64
    # Personal commands defer ephemerally from the start.
    await invoke(adapter, fd.interaction("subscriptions", interaction_id=940000000000000003))
    assert api.of(fd.DEFER)[-1].json()["data"]["flags"] & 64
    for i in range(30):
        await invoke(adapter, fd.interaction("subscribe", [{"type": 3, "name": "topic", "value": f"topic number {i}"}],
                                             interaction_id=940000000000000100 + i))
    assert ctx_scope  # subscriptions above went to this channel
    interaction = discord.Interaction(data=fd.interaction(
        "unsubscribe", [{"type": 3, "name": "topic", "value": "number 1", "focused": True}], kind=4),
        state=client._connection)
    choices = await adapter.topic_choices(interaction, "number 1")
    assert 1 <= len(choices) <= 25 and all("number 1" in c.value for c in choices)
    assert len(await adapter.topic_choices(interaction, "")) == 25
    assert_safe_sends(api)


async def test_delivery_errors_map_to_permanent_and_retry_after(api, client):
    poster = DiscordPoster(client, interval=0)
    api.fail(r"/channels/\d+/messages$", Reply(403, b'{"message": "Missing Access", "code": 50001}'))
    with pytest.raises(DeliveryError) as forbidden:
        await poster.post_digest(discord_destination(), Message(header="x", text="y"))
    assert forbidden.value.permanent
    api.fail(r"/channels/\d+/messages$", Reply(429, b'{"message": "You are being rate limited.", "retry_after": 42.0,'
                                                    b' "global": false}', {"Retry-After": "42"}))
    with pytest.raises(DeliveryError) as limited:
        await poster.post_digest(discord_destination(), Message(header="x", text="y"))
    assert limited.value.retry_after == 42.0 and not limited.value.permanent
    # A refused thread does not undo the post: replies to the message still work.
    api.fail(r"/threads$", Reply(403, b'{"message": "Missing Permissions", "code": 50013}'))
    result = await poster.post_digest(discord_destination(), Message(header="x", text="y"))
    assert result.message_ref and result.thread_ref is None


async def test_sync_registers_the_commands_and_the_invite_asks_for_exactly_what_is_needed(db, api):
    from adapters.discord.discord_setup import sync_commands

    names = await sync_commands(make_bot(db).core, "fake-token", fd.GUILD_ID)
    assert sorted(names) == ["papers", "subscribe", "subscriptions", "unsubscribe"]
    synced = api.of("sync")[0]
    assert synced.path == f"{fd.API}/applications/{fd.APP_ID}/guilds/{fd.GUILD_ID}/commands"
    papers = next(c for c in synced.json() if c["name"] == "papers")
    assert sorted(o["name"] for o in papers["options"]) == ["digest", "feedback", "help", "search", "show", "today",
                                                            "top", "why"]
    url = invite_url("123")
    assert "scope=bot+applications.commands" in url and "permissions=309237730304" in url


async def test_a_digest_posted_by_a_process_that_died_before_recording_it_is_found_not_posted_again(db, api, client):
    await ingest_samples(db)
    services = make_bot(db).core.services
    poster = DiscordPoster(client, interval=0)
    async with db.session() as s:
        destination = await ensure_destination(s, "discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID), "papers")
    # The fake hands out snowflakes of this moment (its first id); the dead process claimed a minute earlier.
    claimed_at = discord.utils.snowflake_time(fd.FIRST_ID) - timedelta(minutes=1)
    first = await post_then_die(services, "discord", poster, destination, TODAY, claimed_at)
    tag = DigestTag(destination.key, TODAY)
    sent = [rec.json() for rec in api.of(fd.MESSAGE)]
    assert sent[0]["nonce"] == tag.part_nonce(0) and sent[0]["enforce_nonce"] is True
    assert len({body["nonce"] for body in sent}) == len(sent) and all(len(b["nonce"]) <= 25 for b in sent)
    assert f"ref {tag.token}" in sent[0]["embeds"][-1]["footer"]["text"].splitlines()
    assert_safe_sends(api)

    outcome = await take_over(services, "discord", poster, destination, TODAY, claimed_at)
    assert outcome.status == "posted" and "found from an earlier attempt" in outcome.detail
    assert len(api.of(fd.MESSAGE)) == len(sent) and len(api.of(fd.THREAD)) == 1  # nothing posted or opened again
    (lookup,) = api.of(fd.HISTORY)
    assert lookup.path == f"{fd.API}/channels/{fd.CHANNEL_ID}/messages"
    assert discord.utils.snowflake_time(int(lookup.query["after"][0])) <= claimed_at
    async with db.session() as s:
        delivery = await get_delivery(s, destination.key, TODAY)
        recorded = await find_posted(s, destination.key, str(first.thread_ref))
    assert delivery is not None and delivery.status == "posted" and delivery.message_ref == first.message_ref
    assert recorded is not None and recorded.thread_ref == first.thread_ref and list(recorded.paper_ids)
    # Another delivery's tag is not mistaken for this one.
    other = DigestTag(destination.key, TODAY + timedelta(days=1), since=claimed_at)
    assert await poster.find_digest(destination, other) is None


async def test_a_digest_carries_enforced_nonces_and_is_found_in_history(api, client):
    """Each part carries its own nonce with enforce_nonce (a quick retry gets the same message back); later the
    bot's own recent messages are searched for the digest's ref, so a takeover never posts it twice."""
    poster = DiscordPoster(client, interval=0)
    message = Message(header="Paperboy · Mon Apr 20, 2026", text="Two papers today.")
    tag = DigestTag(discord_destination().key, date(2026, 4, 20))
    assert await poster.find_digest(discord_destination(), tag) is None
    first = await poster.post_digest(discord_destination(), message, tag=tag)
    body = api.of(fd.MESSAGE)[0].json()
    assert body["nonce"] == tag.part_nonce(0) and body["enforce_nonce"] is True and len(body["nonce"]) <= 25
    again = await poster.post_digest(discord_destination(), message, tag=tag)
    assert again.message_ref == first.message_ref  # Discord's dedup: no second digest
    found = await poster.find_digest(discord_destination(), tag)
    assert found is not None and found.message_ref == first.message_ref
    assert await poster.find_digest(discord_destination(), DigestTag(tag.destination_key, date(2026, 4, 21))) is None
