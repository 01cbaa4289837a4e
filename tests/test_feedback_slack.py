"""👍 Relevant / 👎 Not for us on Slack, through bolt's real dispatch with signed requests against the fake Slack:
the click is counted per person, the message shows the counts, a second click changes or withdraws, and the
buttons of a digest posted before a restart still work after it."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.messages import ActionKind
from storage.database import Database
from tests.chat_fixtures import ingest_samples, make_bot
from tests.fakes.fake_slack import FakeSlack, action_request, rate_limited, slack_error, unavailable
from tests.fakes.http_server import Reply
from tests.test_slack_adapter import ctx_for, post_digest, runtime_for, wait_for


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def _button(blocks: list[dict[str, Any]], kind: ActionKind, number: int) -> dict[str, Any]:
    wanted = f"paperboy:{kind.value}:{number}"
    return next(e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == wanted)


CLICKED_AT = itertools.count(1_700_000_001, 30)  # each click its own moment, as Slack stamps them (action_ts)


async def _click(runtime, fake: FakeSlack, blocks, kind: ActionKind, number: int, *, ts: str, user: str,
                 at: float | None = None) -> None:
    button = _button(blocks, kind, number)
    calls, notes = len(fake.updates()), len(fake.responses(1))
    request = action_request(button["action_id"], button["value"], message_ts=ts, user=user, blocks=blocks,
                             response_url=fake.response_url(1), action_ts=f"{at or next(CLICKED_AT):.6f}")
    assert (await runtime.app.async_dispatch(request)).status == 200
    await wait_for(lambda: len(fake.updates()) > calls and len(fake.responses(1)) > notes)


async def _moe_digest(db: Database, fake: FakeSlack) -> tuple[Any, str, list[dict[str, Any]], Any]:
    """A channel following "mixture of experts" with its digest posted: (bot, the digest's ts, its blocks, the
    Slack runtime that answers clicks)."""
    await ingest_samples(db)
    bot = make_bot(db)
    await bot.core.handle_command(ctx_for(), "subscribe", "mixture of experts")
    digest_ts, _ = await post_digest(db, bot.core, fake)
    return bot, digest_ts, fake.posts()[0]["blocks"], runtime_for(bot.core, fake)


async def test_judging_buttons_count_update_the_message_and_survive_a_restart(db: Database, fake: FakeSlack):
    await ingest_samples(db)
    first = make_bot(db)
    await first.core.handle_command(ctx_for(), "subscribe", "mixture of experts")
    digest_ts, _ = await post_digest(db, first.core, fake)
    posted = fake.posts()[0]["blocks"]
    assert len(posted) <= 50
    for raw in posted:
        assert Block.parse(raw) is not None
    assert [e["text"]["text"] for e in next(b for b in posted if b["type"] == "actions")["elements"]] == \
        ["Summarize", "Why", "👍 Relevant", "👎 Not for us"]

    # a restart: another process, another bolt app, nothing in memory from the post
    runtime = runtime_for(make_bot(db).core, fake)
    await _click(runtime, fake, posted, ActionKind.NOT_RELEVANT, 2, ts=digest_ts, user="U1")
    update = fake.updates()[-1]
    assert update["ts"] == digest_ts and update["channel"] == "C1"
    assert _button(update["blocks"], ActionKind.NOT_RELEVANT, 2)["text"]["text"] == "👎 Not for us · 1"
    assert _button(update["blocks"], ActionKind.RELEVANT, 2)["text"]["text"] == "👍 Relevant"
    assert _button(update["blocks"], ActionKind.NOT_RELEVANT, 1)["text"]["text"] == "👎 Not for us"
    note = (await wait_for(lambda: fake.responses(1)))[-1]
    assert note["response_type"] == "ephemeral" and note["replace_original"] is False
    assert note["text"].startswith("Noted — not for us:") and "“mixture of experts”" in note["text"]

    current = update["blocks"]
    await _click(runtime, fake, current, ActionKind.NOT_RELEVANT, 2, ts=digest_ts, user="U2")
    current = fake.updates()[-1]["blocks"]
    assert _button(current, ActionKind.NOT_RELEVANT, 2)["text"]["text"] == "👎 Not for us · 2"
    await _click(runtime, fake, current, ActionKind.NOT_RELEVANT, 2, ts=digest_ts, user="U1")  # withdraws
    current = fake.updates()[-1]["blocks"]
    assert _button(current, ActionKind.NOT_RELEVANT, 2)["text"]["text"] == "👎 Not for us · 1"
    assert "withdrawn" in fake.responses(1)[-1]["text"]
    await _click(runtime, fake, current, ActionKind.RELEVANT, 2, ts=digest_ts, user="U2")  # changes
    current = fake.updates()[-1]["blocks"]
    assert _button(current, ActionKind.RELEVANT, 2)["text"]["text"] == "👍 Relevant · 1"
    assert _button(current, ActionKind.NOT_RELEVANT, 2)["text"]["text"] == "👎 Not for us"

    summary = await first.core.handle_command(ctx_for(), "papers", "feedback")
    assert "mixture of experts: 👍 1 · 👎 0" in (summary.message.body or "")


async def test_a_double_click_counts_once_and_a_later_click_withdraws(db: Database, fake: FakeSlack):
    """A double click sends two block_actions a fraction of a second apart: the second would withdraw the
    first, so it is dropped; a click a few seconds later (the person saw the count) withdraws."""
    bot, digest_ts, posted, runtime = await _moe_digest(db, fake)
    await _click(runtime, fake, posted, ActionKind.RELEVANT, 2, ts=digest_ts, user="U1", at=1_700_000_100.1)
    button = _button(posted, ActionKind.RELEVANT, 2)
    again = action_request(button["action_id"], button["value"], message_ts=digest_ts, user="U1", blocks=posted,
                           response_url=fake.response_url(2), action_ts="1700000100.400000")
    assert (await runtime.app.async_dispatch(again)).status == 200
    await _click(runtime, fake, posted, ActionKind.RELEVANT, 3, ts=digest_ts, user="U1", at=1_700_000_100.5)
    assert fake.responses(2) == []  # the double click's second half: no note, nothing changed
    summary = await bot.core.handle_command(ctx_for(), "papers", "feedback")
    body = summary.message.body or ""
    assert "mixture of experts: 👍 1 · 👎 0" in body  # paper 2 once
    assert "no topic (more like this): 👍 1 · 👎 0" in body  # another button at once is another click
    await _click(runtime, fake, posted, ActionKind.RELEVANT, 2, ts=digest_ts, user="U1", at=1_700_000_104.0)
    assert "withdrawn" in fake.responses(1)[-1]["text"]


async def test_a_button_for_a_paper_no_longer_stored_changes_nothing(db: Database, fake: FakeSlack):
    await ingest_samples(db)
    bot = make_bot(db)
    digest_ts, _ = await post_digest(db, bot.core, fake)
    runtime = runtime_for(bot.core, fake)
    request = action_request("paperboy:relevant:1", "#999999", message_ts=digest_ts,
                             blocks=fake.posts()[0]["blocks"], response_url=fake.response_url(2))
    assert (await runtime.app.async_dispatch(request)).status == 200
    note = (await wait_for(lambda: fake.responses(2)))[-1]
    assert note["text"] == "that paper is no longer stored" and note["response_type"] == "ephemeral"
    assert fake.updates() == []


@pytest.mark.parametrize("ephemeral", [False, True])
async def test_a_list_answered_through_response_url_shows_the_counts_after_a_click(db: Database, fake: FakeSlack,
                                                                                    ephemeral: bool):
    """`/papers today` in a channel the bot is not in is answered through `response_url`, which no `chat.update`
    may edit (Slack answers `cant_update_message`; the fake, `message_not_found`); so is a private (ephemeral)
    list. A click there still counts, the list shows the counts (replaced through the click's `response_url`),
    and the clicker gets the note — not "Sorry, something went wrong"."""
    from tests.fakes.fake_slack import command_request

    await ingest_samples(db)
    bot = make_bot(db)
    fake.not_member.add("C5")
    runtime = runtime_for(bot.core, fake)
    await runtime.app.async_dispatch(command_request("/papers", "today", fake.response_url(1), channel="C5"))
    (listing,) = await wait_for(lambda: fake.responses(1))
    button = _button(listing["blocks"], ActionKind.RELEVANT, 2)
    request = action_request(button["action_id"], button["value"], message_ts="1700000050.000001", channel="C5",
                             blocks=listing["blocks"], response_url=fake.response_url(2), ephemeral=ephemeral)
    assert (await runtime.app.async_dispatch(request)).status == 200
    # the note first (the counts may wait behind a rate limit), then the list replaced
    note, replaced = await wait_for(lambda: fake.responses(2) if len(fake.responses(2)) >= 2 else None)
    assert replaced["replace_original"] is True
    assert _button(replaced["blocks"], ActionKind.RELEVANT, 2)["text"]["text"] == "👍 Relevant · 1"
    assert _button(replaced["blocks"], ActionKind.RELEVANT, 1)["text"]["text"] == "👍 Relevant"
    assert note["replace_original"] is False and note["response_type"] == "ephemeral"
    assert note["text"].startswith("Noted — relevant")
    assert len(fake.updates()) == (0 if ephemeral else 1)  # tried once when it could be a bot message


@pytest.mark.parametrize("failure", [
    slack_error("message_not_found"), slack_error("cant_update_message"), slack_error("edit_window_closed"),
    slack_error("msg_too_long"), slack_error("not_in_channel"), slack_error("channel_not_found"),
    rate_limited(120), unavailable(503), Reply(200, b"ok", {"Content-Type": "text/plain"}), Reply(disconnect=True)],
    ids=["message_not_found", "cant_update_message", "edit_window_closed", "msg_too_long", "not_in_channel",
         "channel_not_found", "ratelimited", "http_503", "not_json", "disconnected"])
async def test_a_click_whose_update_fails_still_counts_and_answers_the_clicker(
        db: Database, fake: FakeSlack, caplog: pytest.LogCaptureFixture, failure: Reply):
    """Whatever chat.update meets (Slack's documented errors, a long rate limit, an outage page, an answer that is
    not JSON, a dropped connection), the judgement is recorded and the clicker gets the short private note — not
    "Sorry, something went wrong", which invites a second click that would withdraw it — and the log has no
    traceback."""
    bot, digest_ts, posted, runtime = await _moe_digest(db, fake)
    fake.route("POST", "/api/chat.update", failure)
    button = _button(posted, ActionKind.RELEVANT, 2)
    with caplog.at_level(logging.INFO):
        request = action_request(button["action_id"], button["value"], message_ts=digest_ts, blocks=posted,
                                 response_url=fake.response_url(1), action_ts=f"{next(CLICKED_AT):.6f}")
        assert (await runtime.app.async_dispatch(request)).status == 200
        notes = await wait_for(lambda: [r for r in fake.responses(1) if r.get("response_type") == "ephemeral"])
    assert notes[-1]["text"].startswith("Noted — relevant") and not any(
        "Sorry" in str(r.get("text")) for r in fake.responses(1))
    summary = await bot.core.handle_command(ctx_for(), "papers", "feedback")
    assert "mixture of experts: 👍 1 · 👎 0" in (summary.message.body or "")
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]


async def test_a_judged_digest_keeps_the_metadata_a_retry_finds_it_by(db: Database, fake: FakeSlack):
    """A digest carries its delivery's tag and its papers as message metadata; a later attempt finds it by them.
    chat.update erases metadata only when given an empty object and keeps it when the field is left out: the
    counts' update leaves it out, so a judged digest is still found, with the papers it lists."""
    from pydantic import SecretStr

    from adapters.slack.slack_poster import SlackPoster, make_web_client
    from bot.digests.poster import DigestTag
    from storage.destination_store import ensure_destination
    from tests.chat_fixtures import TODAY
    from tests.fakes.fake_time import Sleeps

    await ingest_samples(db)
    bot = make_bot(db)
    reply = await bot.core.handle_command(ctx_for(), "papers", "today")
    async with db.session() as session:
        destination = await ensure_destination(session, "slack", "T0PAPER", "C1")
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url), sleep=Sleeps())
    tag = DigestTag(destination.key, TODAY)
    posted = await poster.post_digest(destination, reply.message, tag=tag)
    runtime = runtime_for(bot.core, fake)
    await _click(runtime, fake, fake.posts()[0]["blocks"], ActionKind.RELEVANT, 2, ts=posted.message_ref, user="U1")
    assert "metadata" not in fake.updates()[-1]
    found = await poster.find_digest(destination, tag)
    assert found is not None and found.message_ref == posted.message_ref
    assert found.listed is not None and 2 in found.listed


async def test_clicks_answered_on_one_response_url_stay_within_its_five_uses(db: Database, fake: FakeSlack,
                                                                           caplog: pytest.LogCaptureFixture):
    """Clicks on a private list each take two answers on their response_url (the note, then the list with the new
    counts). Should Slack hand the same response_url to several clicks, the counts are left as they are once it
    has one use left, and every clicker's note is still shown (the sixth answer would be dropped silently)."""
    from tests.fakes.fake_slack import command_request

    await ingest_samples(db)
    bot = make_bot(db)
    runtime = runtime_for(bot.core, fake)
    fake.not_member.add("C5")
    await runtime.app.async_dispatch(command_request("/papers", "today", fake.response_url(1), channel="C5"))
    (listing,) = await wait_for(lambda: fake.responses(1))
    caplog.set_level(logging.INFO)
    for number in (1, 2, 3):
        button = _button(listing["blocks"], ActionKind.RELEVANT, number)
        request = action_request(button["action_id"], button["value"], message_ts="1700000050.000001", channel="C5",
                                 blocks=listing["blocks"], response_url=fake.response_url(2), ephemeral=True,
                                 action_ts=f"{next(CLICKED_AT):.6f}")
        assert (await runtime.app.async_dispatch(request)).status == 200
        await wait_for(lambda n=number: len([r for r in fake.responses(2) if not r["replace_original"]]) >= n)
    await wait_for(lambda: any("keeps its old counts" in r.getMessage() for r in caplog.records))  # click 3 done
    assert len(fake.responses(2)) == 5
    notes = [r for r in fake.shown(2) if not r["replace_original"]]
    assert len(notes) == 3 and all(n["text"].startswith("Noted — relevant") for n in notes)
