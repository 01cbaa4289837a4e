"""What digests and follow-ups do when Discord answers with one of its documented errors: discord.py's real HTTP
client (built as `paperboy run` builds it) against a fake REST API on 127.0.0.1 that answers as Discord's
reference shows (status, `{"message", "code", "errors"}`, the 429's headers and body).

Permanent errors end the tries with one clear line naming Discord's code; transient ones come back with when to
retry, never after blocking a digest for minutes; a rejected token is not tried channel by channel; no token in a
log line."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from adapters.discord.discord_adapter import DiscordPoster
from bot.destination import Destination
from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.errors import DeliveryError
from bot.followups.poster import ThreadTarget
from bot.messages import Message
from storage.database import Database
from storage.delivery_store import get_delivery
from storage.destination_store import ensure_destination
from tests.chat_fixtures import TODAY, ingest_samples, make_bot
from tests.fakes import fake_discord as fd
from tests.fakes.fake_discord import FakeDiscord, api_error, form_errors

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
