"""What digests and follow-ups do when Discord answers with one of its documented errors: discord.py's real HTTP
client (built as `paperboy run` builds it) against a fake REST API on 127.0.0.1 that answers as Discord's
reference shows (status, `{"message", "code", "errors"}`, the 429's headers and body).

Permanent errors end the tries with one clear line naming Discord's code; transient ones come back with when to
retry, never after blocking a digest for minutes; a rejected token is not tried channel by channel; no token in a
log line."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Any

import discord
import pytest

from adapters.discord.discord_adapter import DiscordAdapter, DiscordPoster
from bot.commands.context import ChatContext
from bot.destination import Destination
from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.errors import DeliveryError
from bot.followups.poster import ThreadTarget
from bot.messages import Message, Reply
from storage.database import Database
from storage.delivery_store import get_delivery
from storage.destination_store import ensure_destination
from tests.chat_fixtures import TODAY, ingest_samples, make_bot
from tests.fakes import fake_discord as fd
from tests.fakes.fake_discord import FakeDiscord, api_error, form_errors, rate_limited
from tests.test_discord_adapter import invoke
from tests.waiting import wait_for

MESSAGES = r"/channels/\d+/messages$"
OTHER_CHANNEL = fd.CHANNEL_ID + 7


class Clock:
    """The poster's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def channel(channel_id: int = fd.CHANNEL_ID) -> Destination:
    return Destination(key=f"discord:{fd.GUILD_ID}:{channel_id}", platform="discord", workspace=str(fd.GUILD_ID),
                       channel=str(channel_id), name="papers")


def digest() -> Message:
    return Message(header="Paperboy digest", text="1. A paper")


def requests(api: FakeDiscord) -> int:
    return len(api.requests)


async def test_a_long_rate_limit_as_discord_sends_it_fails_at_once_with_when_to_retry(api: FakeDiscord, client: Any):
    """Discord's own 429 (its edge adds `Via`) with retry_after 600: discord.py would sleep the ten minutes inside
    the digest's post, past the delivery's lease, while another attempt may take it over. The post fails at once
    with retry_after instead; a short one is waited out and the digest posted once."""
    poster = DiscordPoster(client, interval=0)
    api.fail(MESSAGES, rate_limited(600, via=True))
    with pytest.raises(DeliveryError) as limited:
        await asyncio.wait_for(poster.post_digest(channel(), digest()), 30)
    assert limited.value.retry_after == 600 and not limited.value.permanent
    assert api.posted.get(fd.CHANNEL_ID) is None
    api.fail(MESSAGES, rate_limited(0.05, via=True))
    result = await poster.post_digest(channel(), digest())
    assert result.message_ref and len(api.posted[fd.CHANNEL_ID]) == 1


async def test_a_long_rate_limit_on_an_answer_in_a_thread_is_a_warning_not_a_traceback(
        db: Database, api: FakeDiscord, client: Any, caplog: pytest.LogCaptureFixture):
    """The same 429 on the answer to a mention ("@Paperboy summarize 2"): the answer is given up at once with one
    warning, not after ten minutes, and no exception escapes into discord.py's event handler."""
    adapter = DiscordAdapter(make_bot(db).core, client)
    asked = discord.Message(state=client._connection, data=fd.message(970000000000000001, fd.CHANNEL_ID,
                                                                      author=fd.user(fd.USER_ID, "ada")),
                            channel=client.get_partial_messageable(fd.CHANNEL_ID, guild_id=fd.GUILD_ID))
    api.fail(MESSAGES, rate_limited(600, via=True))
    with caplog.at_level(logging.INFO):
        await asyncio.wait_for(adapter.send_in_thread(asked, Reply(Message(text="A summary")), in_thread=False), 30)
    assert any("thread reply failed" in r.getMessage() for r in caplog.records)
    assert not api.posted.get(fd.CHANNEL_ID)


async def test_a_global_rate_limit_holds_every_channel_a_route_limit_only_its_own(api: FakeDiscord, client: Any):
    """A global 429 (`X-RateLimit-Global: true`) covers every request the bot makes: the next channel's digest
    fails with the time left instead of asking Discord again (requests refused with 429 count toward Discord's
    invalid-request ban). A per-route 429 concerns that channel's route only: another channel posts at once."""
    clock = Clock()
    poster = DiscordPoster(client, interval=0, clock=clock)
    api.fail(MESSAGES, rate_limited(65, scope="global"))
    with pytest.raises(DeliveryError) as limited:
        await poster.post_digest(channel(), digest())
    assert limited.value.retry_after == 65 and not limited.value.permanent
    asked = requests(api)
    clock.now += 5
    with pytest.raises(DeliveryError) as held:
        await poster.post_digest(channel(OTHER_CHANNEL), digest())
    assert held.value.retry_after == pytest.approx(60) and not held.value.permanent
    assert requests(api) == asked
    clock.now += 61
    assert (await poster.post_digest(channel(OTHER_CHANNEL), digest())).message_ref
    api.fail(rf"/channels/{fd.CHANNEL_ID}/messages$", rate_limited(30))  # this channel's route only
    with pytest.raises(DeliveryError) as route:
        await poster.post_digest(channel(), digest())
    assert route.value.retry_after == 30
    assert (await poster.post_digest(channel(OTHER_CHANNEL), digest())).message_ref


async def test_a_rejected_token_is_said_once_and_not_tried_per_channel(api: FakeDiscord, client: Any,
                                                                     caplog: pytest.LogCaptureFixture):
    """The bot's token was reset on the Developer Portal: every request gets 401. The first digest learns it and
    the operator gets one error line saying what to do; the other channels' digests and follow-ups fail with the
    same reason without asking Discord (401s count toward its invalid-request ban). The token is in no log line."""
    clock = Clock()
    poster = DiscordPoster(client, interval=0, clock=clock)
    api.token = "a-new-token"
    with caplog.at_level(logging.INFO):
        with pytest.raises(DeliveryError) as rejected:
            await poster.post_digest(channel(), digest())
        assert rejected.value.permanent and "401" in str(rejected.value)
        assert "PAPERBOY_DISCORD_TOKEN" in str(rejected.value)
        asked = requests(api)
        with pytest.raises(DeliveryError) as again:
            await poster.post_digest(channel(OTHER_CHANNEL), digest())
        target = ThreadTarget(message_ref=str(fd.FIRST_ID), thread_ref=str(fd.FIRST_ID), claim_key="k", day=TODAY)
        with pytest.raises(DeliveryError):
            await poster.post_followup(channel(), target, Message(text="Update"))
        assert requests(api) == asked and again.value.permanent and "401" in str(again.value)
        # the digests wait for the token to be asked again, not for the rest of the day
        assert rejected.value.retry_after == 3600 and again.value.retry_after == 3600
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "PAPERBOY_DISCORD_TOKEN" in errors[0].getMessage()
    assert not any("fake-token" in r.getMessage() for r in caplog.records)
    api.token = "fake-token"  # the operator put the right token back; an hour on, digests go out again
    clock.now += 3601
    assert (await poster.post_digest(channel(OTHER_CHANNEL), digest())).message_ref


async def test_a_thread_already_created_for_the_digest_is_its_thread(api: FakeDiscord, client: Any):
    """Start Thread from Message answers 400 160004 when the message already has its thread (an earlier request
    created it and its answer was lost). A thread started from a message has the message's id, so that is the
    digest's thread: replies in it ("summarize 2") resolve to the digest."""
    poster = DiscordPoster(client, interval=0)
    api.fail(r"/threads$", api_error(400, 160004, "A thread has already been created for this message"))
    result = await poster.post_digest(channel(), digest())
    assert result.message_ref and result.thread_ref == result.message_ref


async def test_discords_errors_read_as_one_line_with_their_code_and_what_to_do(api: FakeDiscord, client: Any):
    """50035 Invalid Form Body comes with its `errors` tree, which discord.py spreads over several lines: the
    failure is one line, with the code and the field. 403 50013 says which permissions the bot needs, 50001 and
    10003 what happened to the channel; all are permanent."""
    poster = DiscordPoster(client, interval=0)
    refused = form_errors({"embeds": [{"description": "x" * 5000}]})
    assert refused is not None
    api.fail(MESSAGES, refused)
    with pytest.raises(DeliveryError) as invalid:
        await poster.post_digest(channel(), digest())
    text = str(invalid.value)
    assert invalid.value.permanent and "\n" not in text and "50035" in text and "embeds.0.description" in text
    cases = [(403, 50013, "Missing Permissions", "Send Messages"), (403, 50001, "Missing Access", "View Channel"),
             (404, 10003, "Unknown Channel", "deleted")]
    for status, code, message, hint in cases:
        api.fail(MESSAGES, api_error(status, code, message))
        with pytest.raises(DeliveryError) as caught:
            await poster.post_digest(channel(), digest())
        assert caught.value.permanent and message in str(caught.value) and str(code) in str(caught.value)
        assert hint in str(caught.value), str(caught.value)


async def test_missing_permissions_show_in_digest_status_with_what_to_give(db: Database, api: FakeDiscord,
                                                                          client: Any):
    await ingest_samples(db)
    async with db.session() as s:
        destination = await ensure_destination(s, "discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID))
    api.fail(MESSAGES, api_error(403, 50013, "Missing Permissions"))
    runner = DigestRunner(make_bot(db).core.services, {"discord": DiscordPoster(client, interval=0)},
                          owner="host:1", settings=DigestSettings(lease_seconds=600))
    outcome = await runner.run_one(destination, TODAY)
    assert outcome.status == "failed"
    async with db.session() as s:
        delivery = await get_delivery(s, destination.key, TODAY)
    assert delivery is not None and "Missing Permissions" in (delivery.last_error or "")
    assert "Send Messages" in (delivery.last_error or "")


async def test_a_deleted_digest_or_thread(api: FakeDiscord, client: Any):
    """Verified behaviour: a digest deleted before its thread is opened (404 10008 Unknown Message) still counts
    as posted, without a thread; a follow-up into a thread that was deleted (404 10003) fails for good."""
    poster = DiscordPoster(client, interval=0)
    api.fail(r"/threads$", api_error(404, 10008, "Unknown Message"))
    result = await poster.post_digest(channel(), digest())
    assert result.message_ref and result.thread_ref is None
    api.fail(r"/channels/555/messages$", api_error(404, 10003, "Unknown Channel"))
    target = ThreadTarget(message_ref=result.message_ref, thread_ref="555", claim_key="k", day=date(2026, 4, 22))
    with pytest.raises(DeliveryError) as gone:
        await poster.post_followup(channel(), target, Message(text="Update"))
    assert gone.value.permanent


# -- answers to interactions (slash commands and buttons) --------------------------------------------------------

WEBHOOK = r"/webhooks/\d+/[^/]+$"  # follow-ups: the interaction's own webhook, not the bot's REST routes


def fresh_id() -> int:
    """An interaction id made now: its token has its 15 minutes ahead (ids carry their creation time)."""
    return discord.utils.time_snowflake(discord.utils.utcnow())


async def test_a_slash_commands_answer_held_by_a_long_rate_limit_says_so_at_once(
        db: Database, api: FakeDiscord, client: Any, caplog: pytest.LogCaptureFixture):
    """Interaction follow-ups go through discord.py's webhook adapter, which waits out any 429 its edge sends,
    whatever `max_ratelimit_timeout` says: `/papers today` sat on "Paperboy is thinking…" for ten minutes. Beyond
    the bot's cap the answer is given up at once and the thinking message says, briefly, what happened; a short
    limit is still waited out and the list delivered."""
    await ingest_samples(db)
    adapter = DiscordAdapter(make_bot(db).core, client)
    api.fail(WEBHOOK, rate_limited(600, via=True))
    with caplog.at_level(logging.INFO):
        await asyncio.wait_for(invoke(adapter, fd.interaction("papers", subcommand="today",
                                                              interaction_id=fresh_id())), 30)
    (note,) = [rec.json() for rec in api.of(fd.EDIT_ORIGINAL)]
    assert "rate limit" in note["content"] and "10 minutes" in note["content"]
    assert note["allowed_mentions"] == {"parse": []} and not api.of(fd.FOLLOWUP)
    assert not [r for r in caplog.records if r.exc_info]
    api.fail(WEBHOOK, rate_limited(0.05, via=True))
    await asyncio.wait_for(invoke(adapter, fd.interaction("papers", subcommand="today",
                                                          interaction_id=fresh_id())), 30)
    assert api.of(fd.FOLLOWUP)[-1].json()["embeds"][0]["title"].startswith("Papers of")


async def test_a_held_back_private_answer_says_so_privately(db: Database, api: FakeDiscord, client: Any):
    """`/papers show` of an unknown paper: a public "thinking…", then a private error, so the placeholder is
    deleted first. When that private answer is held back, the note cannot take the deleted placeholder's place:
    it comes as a private follow-up."""
    adapter = DiscordAdapter(make_bot(db).core, client)
    api.fail(WEBHOOK, rate_limited(600, via=True))
    await asyncio.wait_for(invoke(adapter, fd.interaction("papers", [{"type": 3, "name": "paper",
                                                                      "value": "9999.99999"}],
                                                          subcommand="show", interaction_id=fresh_id())), 30)
    assert api.of(fd.DELETE_ORIGINAL) and not api.of(fd.EDIT_ORIGINAL)
    (note,) = [rec.json() for rec in api.of(fd.FOLLOWUP)]
    assert note["flags"] & 64 and "rate limit" in note["content"]


async def test_a_refusal_held_back_by_a_long_rate_limit_ends_without_a_traceback(
        db: Database, api: FakeDiscord, client: Any, caplog: pytest.LogCaptureFixture):
    """`/digest 09:00` where the bot may not post is refused as the first response; when that response meets a
    ten-minute 429 it is given up at once with no exception left for discord.py's error handler."""
    adapter = DiscordAdapter(make_bot(db).core, client)
    api.fail(r"/interactions/\d+/[^/]+/callback$", rate_limited(600, via=True))
    options = [{"type": 3, "name": "setting", "value": "09:00 UTC"}]
    with caplog.at_level(logging.INFO):
        await asyncio.wait_for(invoke(adapter, fd.interaction(
            "digest", options, interaction_id=fresh_id(), permissions=fd.MANAGE_CHANNELS | fd.SEND_MESSAGES,
            app_permissions=fd.BOT_PERMISSIONS & ~fd.SEND_MESSAGES)), 30)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not api.of(fd.FOLLOWUP)


async def test_no_wait_outlives_the_interactions_token(db: Database, api: FakeDiscord, client: Any):
    """The token of an interaction answers for 15 minutes: a 429 asking to wait past that is given up at once,
    even when it is within the cap."""
    await ingest_samples(db)
    adapter = DiscordAdapter(make_bot(db).core, client)
    almost_expired = discord.utils.time_snowflake(discord.utils.utcnow() - timedelta(minutes=14, seconds=50))
    api.fail(WEBHOOK, rate_limited(30, via=True))
    await asyncio.wait_for(invoke(adapter, fd.interaction("papers", subcommand="today",
                                                          interaction_id=almost_expired)), 20)
    assert not api.of(fd.FOLLOWUP) and "rate limit" in api.of(fd.EDIT_ORIGINAL)[-1].json()["content"]


async def test_a_click_whose_note_is_rate_limited_still_counts_without_a_traceback(
        db: Database, api: FakeDiscord, client: Any, caplog: pytest.LogCaptureFixture):
    """👎 under a list while the interaction's webhook is limited for ten minutes: the judgement is recorded at
    once, the click's handler ends without waiting, and nothing escapes into discord.py's view error handler."""
    await ingest_samples(db)
    bot = make_bot(db)
    ctx = ChatContext("discord", str(fd.GUILD_ID), str(fd.CHANNEL_ID), str(fd.USER_ID))
    await bot.core.handle_command(ctx, "subscribe", "mixture of experts")
    reply = await bot.core.handle_command(ctx, "papers", "today")
    adapter = DiscordAdapter(bot.core, client)
    await adapter.poster(interval=0).post_digest(channel(), reply.message)
    posted = api.posted[fd.CHANNEL_ID][-1]
    ref = reply.message.items[1].actions[0].paper_ref
    api.fail(r"/webhooks/\d+/[^/]+/messages/@original$", rate_limited(600, via=True))
    api.fail(WEBHOOK, rate_limited(600, via=True))
    with caplog.at_level(logging.INFO):
        client._connection.parse_interaction_create(fd.component_interaction(
            f"paperboy:judge:down:2:{ref}", posted, interaction_id=fresh_id()))
        await asyncio.wait_for(wait_for(lambda: len([r for r in api.requests if "/webhooks/" in r.path]) >= 2), 20)
        summary = await wait_for_feedback(bot.core, ctx)
    assert "mixture of experts: 👍 0 · 👎 1" in summary
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def wait_for_feedback(core: Any, ctx: ChatContext) -> str:
    async def counted() -> str | None:
        body = (await core.handle_command(ctx, "papers", "feedback")).message.body or ""
        return body if "👎 1" in body else None

    for _ in range(200):
        if (found := await counted()) is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("the judgement was not recorded")
