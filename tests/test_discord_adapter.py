"""The Discord adapter without a gateway: discord.py's real HTTP client against a fake Discord on 127.0.0.1.

Interactions are built from gateway payloads and dispatched through the real CommandTree; messages arrive
through the client's own gateway parsers. Every send is checked for empty allowed mentions and every embed
against Discord's limits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import discord
import pytest

from adapters.discord.discord_adapter import DiscordAdapter, DiscordOptions, DiscordPoster
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
from tests.waiting import wait_for

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


def shown(markdown: str) -> str:
    """What Discord displays for escaped text: a backslash before punctuation is dropped, the character kept."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", markdown)


def assert_safe_sends(api: FakeDiscord) -> None:
    sends = api.sends()
    assert sends
    for body in sends:
        assert body.get("allowed_mentions") == NO_MENTIONS, body.get("allowed_mentions")
        assert not embed_problems(body.get("embeds", []))


async def invoke(adapter: DiscordAdapter, payload: dict[str, Any]) -> None:
    interaction: discord.Interaction = discord.Interaction(data=payload, state=adapter.client._connection)
    await adapter.tree._call(interaction)  # what the gateway's INTERACTION_CREATE handler runs


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
    assert shown(embed["title"]).startswith("Summary:") and second is not None
    assert second.title.split()[0] in shown(embed["title"])
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
                                             interaction_id=940000000000000100 + i, permissions=fd.MANAGE_CHANNELS))
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
    # a forum channel takes no message (Discord: 400, "Cannot send messages in a non-text channel"): retrying
    # the same post cannot help; a 5xx may
    api.fail(r"/channels/\d+/messages$", Reply(400, b'{"message": "Cannot send messages in a non-text channel",'
                                                    b' "code": 50008}'))
    with pytest.raises(DeliveryError) as refused:
        await poster.post_digest(discord_destination(), Message(header="x", text="y"))
    assert refused.value.permanent
    api.fail(r"/channels/\d+/messages$", Reply(503, b'{"message": "upstream unavailable"}'))
    with pytest.raises(DeliveryError) as unavailable:
        await poster.post_digest(discord_destination(), Message(header="x", text="y"))
    assert not unavailable.value.permanent
    # A refused thread does not undo the post: replies to the message still work.
    api.fail(r"/threads$", Reply(403, b'{"message": "Missing Permissions", "code": 50013}'))
    result = await poster.post_digest(discord_destination(), Message(header="x", text="y"))
    assert result.message_ref and result.thread_ref is None


async def test_sync_registers_the_commands_and_the_invite_asks_for_exactly_what_is_needed(db, api):
    from adapters.discord.discord_setup import sync_commands

    names = await sync_commands(make_bot(db).core, "fake-token", fd.GUILD_ID)
    assert sorted(names) == ["digest", "papers", "subscribe", "subscriptions", "unsubscribe"]
    synced = api.of("sync")[0]
    assert synced.path == f"{fd.API}/applications/{fd.APP_ID}/guilds/{fd.GUILD_ID}/commands"
    commands = {c["name"]: c for c in synced.json()}
    assert sorted(o["name"] for o in commands["papers"]["options"]) == [
        "feedback", "followups", "help", "mention", "search", "show", "today", "top", "why"]
    for name, command in commands.items():
        assert command["contexts"] == [0], name  # servers only, as `contexts` (dm_permission is deprecated)
        # Channel settings need Manage Channels by default (admins can change that in Integrations); the rest is
        # open to everyone, and the bot checks channel-wide /subscribe itself.
        # /digest also sets each member's own DM digest (personal:true), so it is declared open and the bot
        # refuses channel-wide changes itself (test_channel_settings_need_manage_channels_and_reading_stays_open).
        assert command["default_member_permissions"] is None, name
    assert commands["subscribe"]["options"][0]["max_length"] == 100  # what the core accepts (MAX_TOPIC_CHARS)
    assert commands["unsubscribe"]["options"][0]["max_length"] == 100
    url = invite_url("123")
    assert "scope=bot+applications.commands" in url and "permissions=309237730304" in url


async def test_sync_clear_removes_a_servers_commands(db, api):
    from adapters.discord.discord_setup import sync_commands

    assert await sync_commands(make_bot(db).core, "fake-token", fd.GUILD_ID, clear=True) == []
    assert await sync_commands(make_bot(db).core, "fake-token", None, clear=True) == []
    guild, everywhere = api.of("sync")
    assert guild.path == f"{fd.API}/applications/{fd.APP_ID}/guilds/{fd.GUILD_ID}/commands" and guild.json() == []
    assert everywhere.path == f"{fd.API}/applications/{fd.APP_ID}/commands" and everywhere.json() == []


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


async def test_every_message_of_a_split_digest_is_tagged_and_a_takeover_finds_them_all(api, client):
    """A dead process's split digest: the next claimer finds each of its messages (and the runner records the
    later ones), so a reply under any of them ("summarize 40") resolves to the digest as after a normal post."""
    destination = discord_destination()
    tag = DigestTag(destination.key, date(2026, 4, 20),
                    since=discord.utils.snowflake_time(fd.FIRST_ID) - timedelta(minutes=1))
    await DiscordPoster(client, interval=0).post_digest(destination, sixty_papers(), tag=tag)
    posts = api.of(fd.MESSAGE)
    assert len(posts) > 2
    footers = [p.json()["embeds"][-1]["footer"]["text"].splitlines() for p in posts]
    assert f"ref {tag.token}" in footers[0]
    assert all(f"ref {tag.token} part {n}" in footer for n, footer in enumerate(footers[1:], start=2))
    ids = [str(m["id"]) for m in api.posted[fd.CHANNEL_ID]]
    # Someone quoting the small print afterwards is not the bot: not a part of its digest.
    api.posted[fd.CHANNEL_ID].append(fd.message(api.next_id(), fd.CHANNEL_ID, author=fd.user(4242, "someone"),
                                                embeds=[{"footer": {"text": f"ref {tag.token} part 9"}}]))

    found = await DiscordPoster(client, interval=0).find_digest(destination, tag)  # the runner records the parts
    assert found is not None and [found.message_ref, *found.later_refs] == ids
    assert found.thread_ref is not None  # the thread the first attempt opened
    other = DigestTag(destination.key, date(2026, 4, 21), since=tag.since)
    assert await DiscordPoster(client, interval=0).find_digest(destination, other) is None


@pytest.mark.parametrize("reranked", [False, True])
async def test_a_split_digest_that_failed_after_its_first_message_is_completed_by_the_retry(api, client, reranked):
    """Discord fails the second message of a split digest (a 503: a 4xx would fail the same way again, and what got
    out would count as the post): the post fails (so the delivery is retried), and the
    retry finds the first message, reads which papers it lists, and posts the others as the digest's next
    messages, each paper once, numbered on from the first. Also when the digest ranks differently by the retry
    (`reranked`: the last paper rose to the top): the papers are known by their links, not their numbers."""
    destination = discord_destination()
    tag = DigestTag(destination.key, date(2026, 4, 20),
                    since=discord.utils.snowflake_time(fd.FIRST_ID) - timedelta(minutes=1))
    api.fail(r"/channels/\d+/messages$", Reply(503, b'{"message": "Service Unavailable", "code": 0}'), after=1)
    with pytest.raises(DeliveryError) as caught:
        await DiscordPoster(client, interval=0).post_digest(destination, sixty_papers(), tag=tag)
    assert not caught.value.permanent and len(api.posted[fd.CHANNEL_ID]) == 1

    def numbers(posted: dict[str, Any]) -> list[int]:
        return [int(n) for e in posted["embeds"] for n in re.findall(r"^\*\*(\d+)\. ", e.get("description", ""), re.M)]

    found = await DiscordPoster(client, interval=0).find_digest(destination, tag)
    assert found is not None and set(found.listed or {}) == set(numbers(api.posted[fd.CHANNEL_ID][0])) and found.listed
    assert found.listed[1] == "https://arxiv.org/abs/2604.00001"  # each number with its paper's link
    retried = sixty_papers()
    if reranked:
        rising = [retried.items[-1], *retried.items[:-1]]
        retried = dataclasses.replace(retried, items=[dataclasses.replace(item, number=n)
                                                      for n, item in enumerate(rising, start=1)])
    await DiscordPoster(client, interval=0).post_digest(destination, retried, tag=tag, resume=found)
    messages = api.posted[fd.CHANNEL_ID]
    assert len(messages) > 2
    assert [n for m in messages for n in numbers(m)] == list(range(1, 61))
    links = [link for m in messages for e in m["embeds"] for link in re.findall(r"\]\((https://arxiv\S+?)\)\*\*",
                                                                                 e.get("description", ""))]
    assert sorted(links) == sorted({f"https://arxiv.org/abs/2604.{i:05d}" for i in range(1, 61)})  # each once
    footers = [m["embeds"][-1]["footer"]["text"].splitlines() for m in messages]
    assert all(f"ref {tag.token} part {n}" in footer for n, footer in enumerate(footers[1:], start=2))
    assert len({p.json().get("nonce") for p in api.of(fd.MESSAGE)}) == len(api.of(fd.MESSAGE))
    again = await DiscordPoster(client, interval=0).find_digest(destination, tag)
    assert again is not None and set(again.listed or {}) == set(range(1, 61))
    assert len(again.later_refs) == len(messages) - 1
    assert again.thread_ref == found.thread_ref is not None  # the thread opened on the first message by the retry


FRAGMENTS = ("**", "*", "__", "_", "~~", "||", "`", "```", "> ", ">>> ", "# ", "## ", "-# ", "1. ", "- ", "+ ",
             "[a](http://x)", "[b](<https://y.example>)", "https://evil.example/p?q=(1)", "<https://e.example>",
             "http://a.b/c", "<@123456789012345678>", "@everyone", "@here", "<t:1700000000:R>", "<#789>", "\\",
             "\\*", "](", ")", "[", "(", ":smile:", "<:e:1>", "word", "Graph", "Nets", " ", " ", "steam://run/1")
PAPER_URL = re.compile(r"^https://arxiv\.org/abs/2604\.\d{5}$")


def hostile_text(rng: Any, parts: int) -> str:
    return "".join(rng.choice(FRAGMENTS) + rng.choice(("", " ", "")) for _ in range(parts)).strip() or "x"


def active_markup(markdown: str) -> list[str]:
    """Characters Discord's markdown would act on: any metacharacter not escaped by a backslash."""
    from adapters.discord.discord_renderer import MARKDOWN_CHARS

    found, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\" and i + 1 < len(markdown) and not markdown[i + 1].isalnum() \
                and not markdown[i + 1].isspace():
            i += 2
            continue
        if markdown[i] in MARKDOWN_CHARS:
            found.append(markdown[max(0, i - 10):i + 10])
        i += 1
    return found


def literal(markdown: str) -> str:
    return shown(markdown).replace("\u200b", "")


@pytest.mark.parametrize("field", ["text", "body"])
def test_a_long_text_without_spaces_is_split_between_whole_escapes(field: str):
    """A long LLM answer in Chinese has no space to cut at: the split falls anywhere, but never between an
    escaping backslash and its character, which would leave the next embed starting with live markdown
    ("# heading") and this one ending in a stray backslash."""
    for length in range(3990, 4006):  # every place around the cut (4,000 characters of escaped text)
        original = "字" * length + "#*_`>-" * 3 + "## HEADING **bold**"
        embeds = [e for batch in render_message(Message(**{field: original})) for e in batch]
        descriptions = [e.description or "" for e in embeds]
        assert len(descriptions) >= 2
        for description in descriptions:
            assert active_markup(description) == [], (length, description[-12:])
        assert "".join(literal(d) for d in descriptions).replace(" ", "") == original.replace(" ", "")


async def test_a_fuzz_of_hostile_titles_renders_as_plain_text_with_only_the_papers_own_links(api, client):
    """Titles, TL;DRs and topics built from every markdown and link construct Discord knows go through the
    poster to the fake Discord; in what Discord receives, the paper's link is the only link and every other
    character is literal text that displays exactly as written."""
    import random

    rng = random.Random(15)
    poster = DiscordPoster(client, interval=0)
    originals: dict[int, tuple[str, str, str]] = {}
    for digest in range(12):
        items = []
        for k in range(1, 21):
            n = digest * 20 + k
            title, tldr, why = hostile_text(rng, 12), hostile_text(rng, 20), hostile_text(rng, 4)
            originals[n] = (" ".join(title.split()), " ".join(tldr.split()), " ".join(why.split()))
            items.append(PaperItem(number=n, paper_id=n, title=title, url=f"https://arxiv.org/abs/2604.{n:05d}",
                                   arxiv_id=f"2604.{n:05d}", tldr=tldr, why=why))
        header = hostile_text(rng, 6)
        await poster.post_digest(discord_destination(), Message(header=header, items=items))
        first = api.of(fd.MESSAGE)[-len(render_message(Message(header=header, items=items)))].json()
        title = first["embeds"][0]["title"]
        assert not active_markup(title) and literal(title) == " ".join(header.split()), title
    assert_safe_sends(api)
    seen = set()
    for body in api.sends():
        for embed in body["embeds"]:
            for block in embed.get("description", "").split("\n\n"):
                head, tldr, why = block.split("\n")
                match = re.fullmatch(r"\*\*(\d+)\. \[(.*)\]\(([^()\s]+)\)\*\*", head)
                assert match, head
                n, title, url = int(match.group(1)), match.group(2), match.group(3)
                assert PAPER_URL.match(url) and url.endswith(f"{n:05d}")  # the paper's own link, the only one
                assert not active_markup(title), (originals[n][0], title)
                assert not active_markup(tldr), (originals[n][1], tldr)
                assert why.startswith("-# why: ") and not active_markup(why.removeprefix("-# why: "))
                assert (literal(title), literal(tldr), literal(why.removeprefix("-# why: "))) == originals[n]
                seen.add(n)
    assert seen == set(originals)



async def test_a_long_escaped_title_and_tldr_leave_the_why_line_whole(api, client):
    """Lengths were checked before escaping: a title and TL;DR full of markdown characters ("a.b-c (d)") nearly
    doubled when escaped, the paper's block went past its 1,800 characters, and its last line, why it was picked,
    was cut mid-word. Budgets are now counted on what is sent: the why line is whole and the block within budget,
    with no half escape where the TL;DR is cut."""
    from adapters.discord.discord_renderer import PAPER_BLOCK_BUDGET

    title, tldr, why = "v1.2-b (x) [y] " * 40, "a.b-c (d) #e_f. " * 120, "graph-nets (gnn): title.match"
    item = PaperItem(number=1, paper_id=1, title=title, url="https://arxiv.org/abs/2604.00001", arxiv_id="2604.00001",
                     tldr=tldr, why=why, authors=("A. B-C", "D.E. (F)"), author_count=40)
    await DiscordPoster(client, interval=0).post_digest(discord_destination(), Message(header="Papers", items=[item]))
    (body,) = api.sends()
    (block,) = [e["description"] for e in body["embeds"]]
    assert len(block) <= PAPER_BLOCK_BUDGET
    head, byline, shown_tldr, shown_why = block.split("\n")
    assert shown_why.startswith("-# why: ") and literal(shown_why.removeprefix("-# why: ")) == why
    assert literal(byline.removeprefix("*").removesuffix("*")) == "A. B-C, D.E. (F) +38"
    assert not active_markup(shown_tldr) and shown_tldr.endswith("…")
    assert " ".join(tldr.split()).startswith(literal(shown_tldr).removesuffix("…"))
    match = re.fullmatch(r"\*\*1\. \[(.*)\]\((\S+)\)\*\*", head)
    assert match and not active_markup(match.group(1)), head
    assert " ".join(title.split()).startswith(literal(match.group(1)).removesuffix("…"))



async def test_a_thread_opened_for_a_digest_found_later_is_named_as_written(api, client):
    """A digest whose thread could not be opened gets it when a later attempt finds the digest; that thread was
    named from the embed's title as sent, escaped for markdown, so "cs.LG (ML)" became "cs\\.LG \\(ML\\)" in the
    thread list, where nothing is markdown. Now it gets the same name as a thread opened at once: the header as
    written, one line, within Discord's 100 characters."""
    from adapters.discord.discord_renderer import MAX_THREAD_NAME, thread_name

    header = "Paperboy · cs.LG + stat.ML (robust) — Mon Apr 20, 2026 · #papers_daily **new** · " + "x-y " * 20
    message = Message(header=header, text="Two papers today.")
    destination = discord_destination()
    tag = DigestTag(destination.key, date(2026, 4, 20),
                    since=discord.utils.snowflake_time(fd.FIRST_ID) - timedelta(minutes=1))
    api.fail(r"/threads$", Reply(403, b'{"message": "Missing Permissions", "code": 50013}'))
    posted = await DiscordPoster(client, interval=0).post_digest(destination, message, tag=tag)
    assert posted.thread_ref is None and "\\" in api.sends()[0]["embeds"][0]["title"]
    found = await DiscordPoster(client, interval=0).find_digest(destination, tag)
    assert found is not None and found.thread_ref is not None
    opened = api.of(fd.THREAD)[-1].json()
    assert opened["name"] == thread_name(message) and "\\" not in opened["name"]
    assert opened["name"].startswith("Paperboy · cs.LG + stat.ML (robust) — Mon Apr 20, 2026 · #papers_daily **new**")
    assert len(opened["name"]) <= MAX_THREAD_NAME


# -- through the gateway: a connected client receives interactions and messages as Discord sends them ---------

OTHER_USER = 930000000000000002


@pytest.fixture
async def gateway(api: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[fd.FakeGateway]:
    import yarl

    with fd.FakeGateway() as fake:
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.url))
        yield fake


async def connected(db: Any, *, message_content: bool = False) -> tuple[Any, Any]:
    """A started `DiscordConnector` (READY received), as `paperboy run` starts it, and the bot behind it."""
    from pydantic import SecretStr

    from adapters.discord.discord_adapter import DiscordConnector

    bot = make_bot(db)
    connector = DiscordConnector(bot.core, DiscordOptions(token=SecretStr("fake-token"), post_interval=0,
                                                          message_content=message_content))
    await asyncio.wait_for(connector.start(), 30)
    return connector, bot


async def test_channel_settings_need_manage_channels_and_reading_stays_open(db, api, gateway):
    connector, _bot = await connected(db)
    try:
        def command(name: str, value: str | None, n: int, permissions: int = fd.SEND_MESSAGES,
                    personal: bool = False) -> None:
            option = {"digest": "setting", "subscribe": "topic"}[name]
            options = [{"type": 3, "name": option, "value": value}] if value is not None else []
            if personal:
                options.append({"type": 5, "name": "personal", "value": True})
            gateway.dispatch("INTERACTION_CREATE", fd.interaction(name, options, interaction_id=940000000000000500 + n,
                                                                  permissions=permissions))

        command("digest", "09:00 UTC", 1)  # a member: refused, at once and privately
        command("subscribe", "graph networks", 2)
        await wait_for(lambda: len(api.of(fd.DEFER)) == 2)
        for refusal in api.of(fd.DEFER):
            body = refusal.json()
            assert body["type"] == 4 and body["data"]["flags"] & 64  # an ephemeral answer, no deferral
            assert "Manage Channels" in body["data"]["content"]
        command("digest", None, 4)  # reading the setting: open to everyone
        await wait_for(lambda: len(api.of(fd.FOLLOWUP)) == 1)
        command("subscribe", "graph networks", 3, personal=True)  # personal: open to everyone
        command("digest", "09:00 UTC", 5, permissions=fd.MANAGE_CHANNELS)  # a moderator
        command("subscribe", "diffusion models", 6, permissions=fd.MANAGE_CHANNELS)
        await wait_for(lambda: len(api.of(fd.FOLLOWUP)) == 4)
        texts = [e.get("description", "") for rec in api.of(fd.FOLLOWUP) for e in rec.json()["embeds"]]
        answers = " | ".join(shown(t) for t in texts)
        assert "Daily digest for this channel at 09:00 UTC" in answers
        assert "No digest set up here yet. Usage: /digest setting:HH:MM" in answers  # Discord's own option form
        assert answers.count("graph networks") == 1 and "diffusion models" in answers
    finally:
        await connector.stop()
    from bot.scope import Scope
    from storage.destination_store import get_destination
    from storage.subscription_store import list_topics

    async with db.session() as s:
        channel = Scope.for_channel("discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID))
        mine = Scope.for_user("discord", str(fd.GUILD_ID), str(fd.USER_ID))
        assert await list_topics(s, channel) == ["diffusion models"]  # not the member's "graph networks"
        assert await list_topics(s, mine) == ["graph networks"]
        destination = await get_destination(s, f"discord:{fd.GUILD_ID}:{fd.CHANNEL_ID}")
        assert destination is not None and destination.digest_time == "09:00"


async def test_with_the_content_intent_only_our_threads_and_only_requests_get_an_answer(db, api, gateway):
    await ingest_samples(db)
    connector, bot = await connected(db, message_content=True)
    try:
        assert gateway.identified[-1]["intents"] & (1 << 15)
        async with db.session() as s:
            destination = await ensure_destination(s, "discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID), "papers")
        runner = DigestRunner(bot.core.services, {"discord": connector.poster}, owner="test",
                              settings=DigestSettings(lease_seconds=300))
        assert (await runner.run_one(destination, TODAY, now=NOW)).status == "posted"
        ours = int(api.of(fd.THREAD)[0].path.split("/")[-2])
        theirs = 980000000000000001  # a thread a person opened
        gateway.dispatch("THREAD_CREATE", {**fd.thread_channel(ours), "newly_created": True})
        gateway.dispatch("THREAD_CREATE", {**fd.thread_channel(theirs, owner_id=OTHER_USER, name="chat"),
                                           "newly_created": True})
        posts_before = len(api.of(fd.MESSAGE))

        def say(n: int, channel: int, text: str, *, mention: bool = False) -> None:
            mentions = [fd.user(fd.BOT_ID, "Paperboy", bot=True)] if mention else []
            content = f"<@{fd.BOT_ID}> {text}" if mention else text
            gateway.dispatch("MESSAGE_CREATE", {**fd.message(970000000000000100 + n, channel, content=content,
                                                             author=fd.user(fd.USER_ID, "ada"), mentions=mentions),
                                                "guild_id": str(fd.GUILD_ID)})

        say(1, theirs, "summarize 2")  # someone else's thread: not ours to answer, not even "typing…"
        say(2, ours, "has anyone read this?")  # people talking in the digest thread
        say(3, fd.CHANNEL_ID, "summarize 2")  # the channel itself, not addressed
        say(4, ours, "summarize 2")  # a thread command, in our thread
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > posts_before)
        say(5, theirs, "what is this?", mention=True)  # addressed to the bot: the hint, no "typing…"
        await wait_for(lambda: len(api.of(fd.MESSAGE)) > posts_before + 1)
    finally:
        await connector.stop()
    answer, hint = api.of(fd.MESSAGE)[posts_before:]
    assert answer.path == f"{fd.API}/channels/{ours}/messages"
    assert shown(answer.json()["embeds"][0]["title"]).startswith("Summary:")
    assert hint.path == f"{fd.API}/channels/{theirs}/messages"
    assert "mention me" in shown(hint.json()["embeds"][0]["description"])
    assert [rec.path for rec in api.of(fd.TYPING)] == [f"{fd.API}/channels/{ours}/typing"]
    assert_safe_sends(api)


async def test_help_on_discord_describes_discords_commands(db, api, gateway):
    connector, _bot = await connected(db)
    try:
        gateway.dispatch("INTERACTION_CREATE", fd.interaction("papers", subcommand="help"))
        await wait_for(lambda: api.of(fd.FOLLOWUP))
    finally:
        await connector.stop()
    embed = api.of(fd.FOLLOWUP)[0].json()["embeds"][0]
    text = shown(embed["description"]) + "\n" + embed["footer"]["text"]
    assert "--me" not in text and "/papers digest" not in text  # console and Slack syntax
    assert "/subscribe topic [personal]" in text and "/digest [setting]" in text
    assert "mention me: “@Paperboy summarize 3”" in text
    assert "In a thread under my posts: “summarize 3”" not in text  # untrue without the content intent


async def test_papers_today_answers_within_the_digests_tldr_deadline_while_the_llm_hangs(db, api, client):
    """The list waits for LLM TL;DRs only as long as a digest does (PAPERBOY_DIGEST_TLDR_DEADLINE), not for the
    LLM's own timeout: "thinking…" must not outlast the user's patience."""
    await ingest_samples(db)
    with FakeOpenAI() as llm:
        llm.always(hanging(120))
        openai_client = make_openai_client(llm.base_url, None, 90.0)
        service = SummaryService(db, llm=LlmSummarizer(openai_client, "fake-model", timeout=90.0, attempts=1),
                                 today=lambda: TODAY)
        bot = make_bot(db, summaries=service)
        assert bot.core.services.tldr_deadline == 8.0  # the digest's deadline, from the settings' default
        bot.core.services.tldr_deadline = 1.0
        adapter = DiscordAdapter(bot.core, client)
        await asyncio.wait_for(invoke(adapter, fd.interaction("papers", subcommand="today")), 45)  # << 90 s
        await openai_client.close()
    assert llm.calls and api.of(fd.FOLLOWUP)
    text = "\n".join(shown(e.get("description", "")) for rec in api.of(fd.FOLLOWUP) for e in rec.json()["embeds"])
    assert "**1. " in api.of(fd.FOLLOWUP)[0].json()["embeds"][0]["description"] and len(text) > 200


def test_discord_sync_clear_from_the_command_line(tmp_path):
    """`paperboy discord sync --guild ID --clear` as an operator runs it, against the fake Discord."""
    from tests.cli_runner import paperboy

    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
    with FakeDiscord() as fake:
        fake.token = token
        env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "DISCORD_TOKEN": token,
               "PAPERBOY_DISCORD_API_URL": fake.url + fd.API}
        synced = paperboy("discord", "sync", "--guild", str(fd.GUILD_ID), env=env)
        cleared = paperboy("discord", "sync", "--guild", str(fd.GUILD_ID), "--clear", env=env)
        refused = paperboy("discord", "sync", "--clear", env={**env, "DISCORD_TOKEN": token[:-2] + "XY"})
        first, second = fake.of("sync")
    assert synced.code == 0 and "/digest" in synced.out and len(first.json()) == 5
    assert cleared.code == 0 and cleared.out.strip() == f"Removed Paperboy's commands from server {fd.GUILD_ID}."
    assert second.path == f"{fd.API}/applications/{fd.APP_ID}/guilds/{fd.GUILD_ID}/commands" and second.json() == []
    assert refused.code == 2 and refused.err.strip().splitlines() == [
        "error: Discord refused the token (is it the bot token from the Bot page?)"]


# -- where a channel digest can go: not a forum, and only where the bot may post embeds ----------------------

FORUM_ID = 920000000000000009
POST_ID = 920000000000000010  # a post in the forum: a thread a member opened
FORUM_KEY = f"discord:{fd.GUILD_ID}:{FORUM_ID}"
CHANNEL_KEY = f"discord:{fd.GUILD_ID}:{fd.CHANNEL_ID}"


def setting(value: str, name: str = "setting", *, personal: bool = False) -> list[dict[str, Any]]:
    options: list[dict[str, Any]] = [{"type": 3, "name": name, "value": value}]
    return options + ([{"type": 5, "name": "personal", "value": True}] if personal else [])


class Asker:
    """A moderator (Manage Channels) running commands through the gateway, one after the other."""

    def __init__(self, api: FakeDiscord, gateway: fd.FakeGateway, channel: dict[str, Any] | None = None) -> None:
        self.api, self.gateway, self.channel = api, gateway, channel
        self._ids = iter(range(940000000000000700, 940000000000000800))

    async def run(self, name: str, options: list[dict[str, Any]] | None = None, *, sub: str | None = None,
                  app_permissions: int = fd.BOT_PERMISSIONS, answers: int = 1) -> int:
        """Run a command and wait for its first `answers` follow-ups; its id, for `answers_to`."""
        interaction_id = next(self._ids)
        self.gateway.dispatch("INTERACTION_CREATE", fd.interaction(
            name, options, subcommand=sub, interaction_id=interaction_id, permissions=fd.MANAGE_CHANNELS,
            channel=self.channel, app_permissions=app_permissions))
        await wait_for(lambda: len(self.answers_to(interaction_id)) >= answers)
        return interaction_id

    def answers_to(self, interaction_id: int) -> list[tuple[str, bool]]:
        """The answers to one command (by its token): an immediate response (a refusal) and the follow-ups, each
        with its text and whether only the asker sees it."""
        got = []
        for kind, rec in self.api.events:
            body = rec.json() or {}
            if kind == fd.DEFER and rec.path.endswith(f"/tok-{interaction_id}/callback") and body.get("type") == 4:
                body = body.get("data") or {}
            elif not (kind == fd.FOLLOWUP and rec.path.endswith(f"/tok-{interaction_id}")):
                continue
            text = body.get("content") or " ".join(e.get("description", "") for e in body.get("embeds", []))
            got.append((shown(text), bool(body.get("flags", 0) & 64)))
        return got

    def callbacks_to(self, interaction_id: int) -> list[tuple[int, bool]]:
        """The first responses to one command: (type: 4 an answer, 5 "thinking…"; whether only the asker sees it)."""
        return [(rec.json()["type"], bool((rec.json().get("data") or {}).get("flags", 0) & 64))
                for rec in self.api.of(fd.DEFER) if rec.path.endswith(f"/tok-{interaction_id}/callback")]


@pytest.mark.parametrize("parent", ["cached forum", "uncached forum", "cached media channel"])
async def test_a_forum_post_takes_no_channel_digest_but_answers_everything_else(db, api, gateway, parent):
    """Discord takes no message in a forum itself, only inside its posts: a channel digest (or a channel topic,
    which brings one) asked for in a post is refused at once, instead of being set and failing for good at
    digest time. When the server's cache lacks the forum, Discord is asked what the post's parent is."""
    forum = fd.forum_channel(FORUM_ID, media=parent == "cached media channel")
    if parent.startswith("cached"):
        gateway.channels = [fd.text_channel(), forum]
    else:
        api.channels[FORUM_ID] = forum
    await ingest_samples(db)
    connector, _bot = await connected(db)
    try:
        asker = Asker(api, gateway, fd.thread_channel(POST_ID, FORUM_ID, "Which GNN paper?", owner_id=fd.USER_ID))
        refused = [await asker.run("digest", setting("09:00 UTC")), await asker.run("digest", setting("on")),
                   await asker.run("subscribe", setting("graph networks", "topic"))]
        personal = await asker.run("digest", setting("08:00 UTC", personal=True))
        answered = [personal, await asker.run("digest", setting("preview")), await asker.run("papers", sub="today")]
    finally:
        await connector.stop()
    for interaction_id in refused:
        ((text, private),) = asker.answers_to(interaction_id)
        assert private and text.startswith("A forum gets no digest") and "text channel" in text
    assert not any("A forum" in text for i in answered for text, _ in asker.answers_to(i))
    assert "direct message" in asker.answers_to(personal)[0][0] and asker.answers_to(personal)[0][1]
    today, public = asker.answers_to(answered[-1])[0]
    assert today.count("**") >= 2 and public is False  # today's list, for everyone in the post
    fetched = [rec.path for rec in api.of("channel")]
    assert fetched == ([] if parent.startswith("cached") else [f"{fd.API}/channels/{FORUM_ID}"] * 3)
    from bot.scope import Scope
    from storage.destination_store import get_destination
    from storage.subscription_store import list_topics

    async with db.session() as s:
        assert await get_destination(s, FORUM_KEY) is None  # no digest for the forum, nothing to fail later
        assert await list_topics(s, Scope.for_channel("discord", str(fd.GUILD_ID), str(FORUM_ID))) == []
        assert await get_destination(s, f"discord:{fd.GUILD_ID}:@{fd.USER_ID}") is not None


async def test_a_channel_digest_needs_the_bots_send_and_embed_permissions_and_notes_a_missing_thread_one(
        db, api, gateway):
    """Discord sends the bot's permissions in the channel with each interaction: a digest it could not post
    (no View Channel, Send Messages or Embed Links: a digest is embeds) is refused with what is missing; one it
    can post without its thread is set, and the asker is told privately what the thread needs."""
    await ingest_samples(db)
    connector, _bot = await connected(db)
    everything = fd.BOT_PERMISSIONS
    try:
        asker = Asker(api, gateway)
        no_send = await asker.run("digest", setting("09:00 UTC"), app_permissions=everything & ~fd.SEND_MESSAGES)
        no_view_nor_embeds = await asker.run("digest", setting("on"),
                                             app_permissions=everything & ~fd.VIEW_CHANNEL & ~fd.EMBED_LINKS)
        topic = await asker.run("subscribe", setting("graph networks", "topic"),
                                app_permissions=everything & ~fd.EMBED_LINKS)
        async with db.session() as s:
            from storage.destination_store import get_destination

            assert await get_destination(s, CHANNEL_KEY) is None  # nothing was set
        no_thread = await asker.run("digest", setting("09:30 UTC"), answers=2,
                                    app_permissions=everything & ~fd.CREATE_PUBLIC_THREADS)
        admin = await asker.run("digest", setting("10:00 UTC"), app_permissions=1 << 3)  # Administrator
        no_history = await asker.run("digest", setting("10:05 UTC"), answers=2,
                                     app_permissions=everything & ~fd.READ_MESSAGE_HISTORY)
        fine = await asker.run("digest", setting("10:15 UTC"))
        off = await asker.run("digest", setting("off"), app_permissions=0)  # turning it off needs nothing
        today = await asker.run("papers", sub="today", app_permissions=0)  # an answer, not a post of the bot's
    finally:
        await connector.stop()
    ((text, private),) = asker.answers_to(no_send)
    assert private and text == ("I can't post in this channel: I'm missing the Send Messages permission there, so "
                                "no digest could arrive. Allow it for Paperboy in the channel's settings (Edit "
                                "Channel → Permissions), then try again.")
    assert "missing the View Channel and Embed Links permissions" in asker.answers_to(no_view_nor_embeds)[0][0]
    ((text, private),) = asker.answers_to(topic)
    assert "missing the Embed Links permission" in text and private
    (confirmed, public), (note, noted_privately) = asker.answers_to(no_thread)
    assert confirmed.startswith("Daily digest for this channel at 09:30 UTC") and not public
    assert noted_privately and "missing the Create Public Threads permission" in note and "thread" in note
    (confirmed, _), (note, noted_privately) = asker.answers_to(no_history)  # a crash could post a digest twice
    assert confirmed.startswith("Daily digest for this channel at 10:05 UTC")
    assert noted_privately and "missing the Read Message History permission" in note and "twice" in note
    assert len(asker.answers_to(admin)) == len(asker.answers_to(fine)) == 1  # no note when nothing is missing
    assert "at 10:15 UTC" in asker.answers_to(fine)[0][0]
    assert asker.answers_to(off)[0][0].startswith("Daily digest turned off")
    assert not asker.answers_to(today)[0][1]
    from storage.destination_store import get_destination

    async with db.session() as s:
        destination = await get_destination(s, CHANNEL_KEY)
    assert destination is not None and destination.digest_time == "10:15" and not destination.digest_enabled


async def test_a_refused_channel_digest_is_private_from_the_first_response(db, api, gateway):
    """Where a channel digest can go was checked after the command was deferred in public: the channel saw
    "Paperboy is thinking…" before a refusal meant only for the asker. The refusal is now the first response,
    private; a digest that can go ahead is deferred as before."""
    gateway.channels = [fd.text_channel(), fd.forum_channel(FORUM_ID)]
    await ingest_samples(db)
    connector, _bot = await connected(db)
    try:
        here = Asker(api, gateway)
        no_send = await here.run("digest", setting("09:00 UTC"), app_permissions=fd.BOT_PERMISSIONS & ~fd.SEND_MESSAGES)
        post = Asker(api, gateway, fd.thread_channel(POST_ID, FORUM_ID, "Which GNN paper?", owner_id=fd.USER_ID))
        post._ids = iter(range(940000000000000900, 940000000000000999))  # interactions of their own
        in_forum = await post.run("digest", setting("09:00 UTC"))
        fine = await here.run("digest", setting("09:15 UTC"))
    finally:
        await connector.stop()
    assert here.callbacks_to(no_send) == [(4, True)] and "Send Messages" in here.answers_to(no_send)[0][0]
    assert post.callbacks_to(in_forum) == [(4, True)] and post.answers_to(in_forum)[0][0].startswith("A forum")
    assert here.callbacks_to(fine) == [(5, False)]


async def test_followups_and_mentions_are_not_turned_on_in_a_forum_post(db, api, gateway):
    """Follow-ups and mentions ride on the channel's digest, which a forum never gets: `/papers followups on` and
    `/papers mention me on` in a forum post were accepted and could never do anything."""
    gateway.channels = [fd.text_channel(), fd.forum_channel(FORUM_ID)]
    await ingest_samples(db)
    connector, _bot = await connected(db)
    try:
        post = Asker(api, gateway, fd.thread_channel(POST_ID, FORUM_ID, "Which GNN paper?", owner_id=fd.USER_ID))
        refused = [await post.run("papers", setting("on"), sub="followups"),
                   await post.run("papers", setting("me on"), sub="mention")]
        listing = await post.run("papers", sub="followups")
    finally:
        await connector.stop()
    for interaction_id in refused:
        ((text, private),) = post.answers_to(interaction_id)
        assert private and text.startswith("A forum gets no digest") and "text channel" in text, text
        assert post.callbacks_to(interaction_id) == [(4, True)]
    ((listed, _),) = post.answers_to(listing)  # the recent ones: nothing to refuse
    assert "follow-ups" in listed and "A forum" not in listed
    from storage.personal_store import mention_enabled

    async with db.session() as s:
        assert not await mention_enabled(s, FORUM_KEY, str(fd.USER_ID))


@pytest.mark.parametrize("cached", [True, False])
async def test_a_forum_digest_set_before_forums_were_refused_is_turned_off_at_its_first_failure(
        db, api, gateway, cached):
    """A digest set in a forum before such requests were refused failed every day, for good, until someone ran
    `/digest off`: its first failure now turns it off, saying why (`paperboy digest status`, the log)."""
    from storage.destination_store import get_destination
    from tests.personal_fixtures import DAY1, store_day

    forum = fd.forum_channel(FORUM_ID)
    gateway.channels = [fd.text_channel(), forum] if cached else [fd.text_channel()]
    if not cached:  # Discord refuses the post itself
        api.fail(rf"/channels/{FORUM_ID}/messages$", Reply(400, b'{"message": "Cannot send messages in a non-text '
                                                                b'channel", "code": 50008}'))
    await store_day(db, DAY1)
    async with db.session() as s:
        destination = await ensure_destination(s, "discord", str(fd.GUILD_ID), str(FORUM_ID), "papers-forum")
        destination.digest_time = "09:00"
    connector, bot = await connected(db)
    try:
        runner = DigestRunner(bot.core.services, {"discord": connector.poster}, owner="test",
                              settings=DigestSettings(lease_seconds=300))
        (outcome,) = await runner.run_for(DAY1, FORUM_KEY)
    finally:
        await connector.stop()
    assert outcome.status == "failed" and "forum" in outcome.detail and "turned off" in outcome.detail
    assert FORUM_ID not in api.posted
    async with db.session() as s:
        stopped = await get_destination(s, FORUM_KEY)
    assert stopped is not None and not stopped.digest_enabled


@pytest.mark.parametrize(("value", "said"), [
    (None, "set PAPERBOY_DISCORD_APPLICATION_ID (or DISCORD_APPLICATION_ID)"),
    ("Paperboy", "error: DISCORD_APPLICATION_ID is not an application id"),
], ids=["unset", "the app's name"])
def test_invite_url_says_which_application_id_it_needs(value, said, tmp_path):
    """The README sets DISCORD_APPLICATION_ID; without one, invite-url asked only for the PAPERBOY_ name, and an id
    that was set but wrong (the app's name pasted) was told to "set" it, as if it were missing."""
    from tests.cli_runner import paperboy

    env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    refused = paperboy("discord", "invite-url", env=env | ({"DISCORD_APPLICATION_ID": value} if value else {}))
    assert refused.code == 2 and said in refused.err, refused.err
    printed = paperboy("discord", "invite-url", env=env | {"DISCORD_APPLICATION_ID": "1234567890"})
    assert printed.code == 0 and "client_id=1234567890&" in printed.out
