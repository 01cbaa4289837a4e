"""The Slack adapter in bolt's own style: signed requests through `app.async_dispatch`, the Web API and every
response_url served by a fake Slack on 127.0.0.1, blocks validated with `slack_sdk.models.blocks`."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from slack_sdk.models.blocks import Block
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select, update

from adapters.slack.slack_poster import SlackPoster, listed_papers, make_web_client
from adapters.slack.slack_renderer import SlackMessage, action_id, render_message
from adapters.slack.slack_runtime import SlackCredentials, SlackRuntime, build_slack_app
from bot.commands.command_core import CommandCore
from bot.dedupe import DatabaseEventDeduper, EventDeduper
from bot.destination import Destination
from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.digests.poster import DigestTag
from bot.errors import DeliveryError
from bot.messages import Action, ActionKind, Message, PaperItem
from bot.summaries.circuit_breaker import CircuitBreaker
from bot.summaries.llm_summarizer import LlmSummarizer, make_openai_client
from bot.summaries.summary_service import SummaryService
from storage.database import Database
from storage.delivery_store import get_delivery
from storage.destination_store import ensure_destination, find_posted, record_posted
from storage.models import Paper
from tests.chat_fixtures import NOW, TODAY, ingest_samples, make_bot
from tests.digest_crash import post_then_die, take_over
from tests.fakes.fake_openai import FakeOpenAI, hanging
from tests.fakes.fake_slack import (
    BOT_USER,
    SIGNING_SECRET,
    TEAM,
    FakeSlack,
    action_request,
    command_request,
    event_request,
    ok,
    rate_limited,
    slack_error,
)
from tests.fakes.fake_time import FakeTime, Sleeps
from tests.fakes.http_server import Reply
from tests.waiting import wait_for

HOSTILE = "<!channel> @everyone <@U123> <https://evil.example|click>"



@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def runtime_for(core: CommandCore, fake: FakeSlack, sleep: Callable[[float], Awaitable[None]] | None = None,
                **kw: Any) -> SlackRuntime:
    creds = SlackCredentials(bot_token=SecretStr("xoxb-test"), signing_secret=SecretStr(SIGNING_SECRET),
                             api_base_url=fake.api_url)
    return build_slack_app(core, creds, sleep=sleep or Sleeps(), **kw)



def validate(message: SlackMessage) -> None:
    """Every block parses as Block Kit and passes slack_sdk's validation, within Slack's limits."""
    assert message.text.strip()
    assert len(message.blocks) <= 50
    for raw in message.blocks:
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()
        if raw["type"] == "section":
            assert 0 < len(raw["text"]["text"]) <= 3000
        if raw["type"] == "header":
            assert len(raw["text"]["text"]) <= 150


def mrkdwn_texts(message: SlackMessage) -> list[str]:
    texts = [message.text]
    for block in message.blocks:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        if block["type"] == "context":
            texts.extend(e["text"] for e in block["elements"])
    return texts


def paper(n: int, *, title: str | None = None, tldr_len: int = 400) -> PaperItem:
    ref = f"2604.{n:05d}"
    return PaperItem(number=n, paper_id=n, title=title or f"A study of long things, part {n} " + "x" * 120,
                     url=f"https://arxiv.org/abs/{ref}", arxiv_id=ref, tldr=("Findings & results. " * 60)[:tldr_len],
                     upvotes=n, authors=("A. Author", "B. Author", "C. Author"), author_count=9,
                     why="diffusion models: title matches",
                     actions=(Action(ActionKind.SUMMARIZE, "Summarize", ref), Action(ActionKind.WHY, "Why", ref)))


# -- rendering ---------------------------------------------------------------------------------------------------


def test_a_60_paper_digest_is_valid_block_kit_split_within_limits_with_fallback():
    message = Message(header="Paperboy · Monday 20 April " + "y" * 200, items=[paper(n) for n in range(1, 61)],
                      context=["Topics: diffusion models, rl", "12 more — /papers today"])
    chunks = render_message(message)
    assert len(chunks) > 1
    numbers: list[int] = []
    for chunk in chunks:
        validate(chunk)
        assert len(chunk.blocks) <= 40  # a margin under 50
        assert chunk.blocks[0]["type"] == "header"
        buttons = [e for b in chunk.blocks if b["type"] == "actions" for e in b["elements"]]
        ids = [b["action_id"] for b in buttons]
        assert len(ids) == len(set(ids))  # unique per message, as Slack requires
        numbers += [int(b["action_id"].rsplit(":", 1)[1]) for b in buttons if "summarize" in b["action_id"]]
        assert all(b["value"].startswith("2604.") for b in buttons)
    assert sorted(set(numbers)) == list(range(1, 61))
    first = chunks[0]
    assert "<https://arxiv.org/abs/2604.00001|A study of long things, part 1" in first.blocks[1]["text"]["text"]
    assert "1. A study of long things, part 1" in first.text  # the plain fallback
    assert chunks[-1].blocks[-1]["type"] == "context"
    assert chunks[1].blocks[0]["text"]["text"].endswith("…") or "(continued)" in chunks[1].blocks[0]["text"]["text"]


def test_a_long_body_is_split_into_sections_and_messages():
    message = Message(header="Summary: a paper", body=("A sentence about results & <methods>. " * 40 + "\n") * 30)
    chunks = render_message(message)
    for chunk in chunks:
        validate(chunk)
    assert "&lt;methods&gt;" in chunks[0].blocks[1]["text"]["text"]


def test_a_hostile_title_renders_as_inert_text():
    item = paper(1, title=HOSTILE)
    item = PaperItem(**{**item.__dict__, "tldr": HOSTILE, "authors": (HOSTILE,), "why": HOSTILE})
    message = Message(header=HOSTILE, text=HOSTILE, items=[item], context=[HOSTILE])
    (chunk,) = render_message(message)
    validate(chunk)
    for text in mrkdwn_texts(chunk):
        for raw in ("<!channel>", "<@U123>", "<https://evil", "|click>"):
            assert raw not in text
    section = chunk.blocks[2]["text"]
    assert section["verbatim"] is True  # no auto-linking or @here conversion either
    assert "&lt;!channel&gt; @everyone &lt;@U123&gt; &lt;https://evil.example|click&gt;" in section["text"]
    assert section["text"].startswith("*1. <https://arxiv.org/abs/2604.00001|&lt;!channel&gt;")
    assert chunk.blocks[0]["text"]["type"] == "plain_text"  # never parsed for mentions or links


def test_a_title_with_the_bold_marker_stays_one_bold_title():
    """mrkdwn has no escape for `*`: "Q*: …" inside the bold title ended the bold after "Q" and left a stray `*`;
    an underscore in a topic ("snake_case") did the same to the italic why line."""
    item = PaperItem(**{**paper(1, title="Q*: A* Search for Reasoning").__dict__, "why": "snake_case: “snake_case”"})
    (chunk,) = render_message(Message(header="Papers", items=[item]))
    validate(chunk)
    text = chunk.blocks[1]["text"]["text"]
    title_line, *rest = text.split("\n")
    assert "|Q∗: A∗ Search for Reasoning>*" in title_line and title_line.count("*") == 2
    (why,) = [line for line in rest if line.startswith("_why:")]
    assert why.count("_") == 2 and why.endswith("_")



async def test_small_print_past_ten_lines_is_all_shown(fake: FakeSlack):
    """A context block holds at most 10 elements; the renderer kept the first 10 small-print lines and dropped the
    rest without a word. Now every line reaches the channel: the ones past the ninth share the tenth element."""
    from bot.destination import Destination

    lines = [f"note {n}: <b>&" for n in range(1, 15)] + ["  "]  # a blank one: Slack refuses an empty element
    message = Message(header="Papers", items=[paper(1)], context=lines)
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url), sleep=Sleeps())
    await poster.post_digest(Destination("slack:T1:C1", "slack", TEAM, "C1"), message)
    (posted,) = fake.posts()
    contexts = [b for b in posted["blocks"] if b["type"] == "context"]
    assert len(contexts) == 1 and 0 < len(contexts[0]["elements"]) <= 10
    shown = "\n".join(e["text"] for e in contexts[0]["elements"])
    for n in range(1, 15):
        assert f"note {n}: &lt;b&gt;&amp;" in shown, n
    for chunk in render_message(message):
        validate(chunk)


# -- slash commands ----------------------------------------------------------------------------------------------


async def test_papers_today_acks_at_once_while_a_hanging_llm_sits_behind_it(db: Database, fake: FakeSlack):
    await ingest_samples(db)
    with FakeOpenAI() as llm:
        llm.always(hanging(60))
        client = make_openai_client(llm.base_url, None, 60.0)
        summaries = SummaryService(db, llm=LlmSummarizer(client, "fake-model", timeout=3.0, attempts=1),
                                   today=lambda: NOW.date(), concurrency=16,
                                   breaker=CircuitBreaker(failure_threshold=2, cooldown=60))
        bot = make_bot(db, summaries=summaries)
        runtime = runtime_for(bot.core, fake)
        await runtime.client.auth_test()  # a warm connection, as in a running bot
        started = time.monotonic()
        response = await runtime.app.async_dispatch(command_request("/papers", "today", fake.response_url(1)))
        elapsed = time.monotonic() - started
        assert response.status == 200
        # Within Slack's 3 s, which is also the LLM's timeout: the ack cannot have waited for the LLM.
        assert elapsed < 3.0, elapsed
        assert not fake.posts()
        answers = await wait_for(lambda: fake.posts())
        await client.close()
    answer = answers[0]
    assert answer["channel"] == "C1"
    assert answer["text"].startswith("Papers of")
    for block in answer["blocks"]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    assert any(b["type"] == "actions" for b in answer["blocks"])


async def test_personal_answers_are_ephemeral(db: Database, fake: FakeSlack):
    bot = make_bot(db)
    runtime = runtime_for(bot.core, fake)
    await runtime.app.async_dispatch(command_request("/subscribe", "--bogus-flag", fake.response_url(2)))
    (answer,) = await wait_for(lambda: fake.responses(2))
    assert answer["response_type"] == "ephemeral"


async def test_lists_can_be_posted_as_messages_so_their_threads_work(db: Database, fake: FakeSlack):
    await ingest_samples(db)
    bot = make_bot(db)
    runtime = runtime_for(bot.core, fake, post_lists_as_messages=True)
    await runtime.app.async_dispatch(command_request("/papers", "today", fake.response_url(3)))
    (post,) = await wait_for(lambda: fake.posts())
    assert post["channel"] == "C1" and not fake.responses(3)
    for _ in range(200):  # recorded just after the post returns
        async with db.session() as session:
            if await find_posted(session, f"slack:{TEAM}:C1", "1700000000.000001") is not None:
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the posted list was not recorded")


def block_texts(posted: dict[str, Any]) -> str:
    """The text a Slack message shows: its sections and its small print."""
    return "\n".join(mrkdwn_texts(SlackMessage(posted.get("text") or "", posted.get("blocks") or [])))


async def test_a_bad_digest_time_and_a_channel_digest_name_slacks_commands(db: Database, fake: FakeSlack):
    """A typo in the digest time, and the small print of a digest for a channel that follows no topics yet, name
    the commands as Slack takes them: a line of text, with --me for one's own digest."""
    await ingest_samples(db)
    bot = make_bot(db)
    runtime = runtime_for(bot.core, fake)
    await runtime.app.async_dispatch(command_request("/papers", "digest 25:00", fake.response_url(4)))
    (refused,) = await wait_for(lambda: fake.responses(4))
    assert "'25:00' is not a time of day; use HH:MM, e.g. /papers digest 09:00 Europe/Paris" in block_texts(refused)
    await runtime.app.async_dispatch(command_request("/papers", "digest --me 9:7", fake.response_url(5)))
    (mine,) = await wait_for(lambda: fake.responses(5))
    assert "e.g. /papers digest --me 09:00 Europe/Paris" in block_texts(mine)
    async with db.session() as session:
        destination = await ensure_destination(session, "slack", TEAM, "C1")
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url), sleep=Sleeps())
    runner = DigestRunner(bot.core.services, {"slack": poster}, owner="proc-1",
                          settings=DigestSettings(lease_seconds=300), clock=lambda: NOW)
    assert (await runner.run_one(destination, TODAY, now=NOW)).status == "posted"
    (digest,) = fake.posts()
    assert "Top papers by upvotes. Follow topics with /subscribe TOPIC." in block_texts(digest)


# -- threads and buttons -----------------------------------------------------------------------------------------


async def post_digest(db: Database, core: CommandCore, fake: FakeSlack) -> tuple[str, list[int]]:
    """A digest posted to C1 through the SlackPoster and recorded the way the digest runner records it."""
    reply = await core.handle_command(ctx_for(), "papers", "today")
    async with db.session() as session:
        destination = await ensure_destination(session, "slack", TEAM, "C1")
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url),
                         record=core.record_digest_parts, sleep=Sleeps())
    result = await poster.post_digest(destination, reply.message)
    async with db.session() as session:
        await record_posted(session, destination.key, result.message_ref, reply.paper_ids, kind="digest")
    return result.message_ref, reply.paper_ids


def ctx_for() -> Any:
    from bot.commands.context import ChatContext

    return ChatContext("slack", TEAM, "C1", "U1")


async def test_summarize_2_in_a_digest_thread_is_answered_in_that_thread(db: Database, fake: FakeSlack):
    await ingest_samples(db)
    bot = make_bot(db)
    runtime = runtime_for(bot.core, fake)
    digest_ts, _ = await post_digest(db, bot.core, fake)
    event = {"type": "message", "channel": "C1", "user": "U1", "text": "summarize 2", "ts": "1700000099.000001",
             "thread_ts": digest_ts, "channel_type": "channel"}
    assert (await runtime.app.async_dispatch(event_request(event, event_id="EvThread"))).status == 200
    answer = (await wait_for(lambda: fake.posts()[1:]))[0]
    assert answer["thread_ts"] == digest_ts and answer["channel"] == "C1"
    assert answer["text"].startswith("Summary:")


@pytest.mark.parametrize("subtype", ["thread_broadcast", "file_share"])
async def test_a_reply_also_sent_to_the_channel_or_with_a_file_is_answered(db: Database, fake: FakeSlack,
                                                                           subtype: str):
    """Slack marks a thread reply with "Also send to #channel" as `thread_broadcast`, one with an attachment as
    `file_share` (https://docs.slack.dev/reference/events/message/thread_broadcast): a person's reply all the
    same. An edit (`message_changed`) is not a new request."""
    await ingest_samples(db)
    bot = make_bot(db)
    runtime = runtime_for(bot.core, fake)
    digest_ts, _ = await post_digest(db, bot.core, fake)
    edit = {"type": "message", "subtype": "message_changed", "channel": "C1", "hidden": True,
            "ts": "1700000099.000020", "message": {"type": "message", "user": "U1", "text": "summarize 3",
                                                    "ts": "1700000099.000019", "thread_ts": digest_ts}}
    assert (await runtime.app.async_dispatch(event_request(edit, event_id="EvEdit"))).status == 200
    event = {"type": "message", "subtype": subtype, "channel": "C1", "user": "U1", "text": "summarize 2",
             "ts": "1700000099.000021", "thread_ts": digest_ts, "channel_type": "channel"}
    assert (await runtime.app.async_dispatch(event_request(event, event_id="EvBroadcast"))).status == 200
    answer = (await wait_for(lambda: fake.posts()[1:]))[0]
    assert answer["thread_ts"] == digest_ts and answer["text"].startswith("Summary:")
    second = re.search(r"\*2\. (.+?)\*", fake.posts()[0]["blocks"][3]["text"]["text"])
    assert second is not None and second.group(1) in answer["text"]  # paper 2, not the edit's 3
    assert len(fake.posts()) == 2, "the edit was answered too"


async def test_the_summarize_button_answers_in_the_messages_thread(db: Database, fake: FakeSlack):
    await ingest_samples(db)
    bot = make_bot(db)
    runtime = runtime_for(bot.core, fake)
    digest_ts, _ = await post_digest(db, bot.core, fake)
    button = fake.posts()[0]["blocks"][2]["elements"][0]
    assert button["action_id"] == action_id(ActionKind.SUMMARIZE, 1)
    request = action_request(button["action_id"], button["value"], message_ts=digest_ts)
    assert (await runtime.app.async_dispatch(request)).status == 200
    answer = (await wait_for(lambda: fake.posts()[1:]))[0]
    assert answer["thread_ts"] == digest_ts and answer["text"].startswith("Summary:")


async def test_a_mention_question_in_a_thread_is_answered_there_once(db: Database, fake: FakeSlack):
    await ingest_samples(db)
    bot = make_bot(db)
    runtime = runtime_for(bot.core, fake)
    digest_ts, _ = await post_digest(db, bot.core, fake)
    text = f"<@{BOT_USER}> 1: what data does it use?"
    base = {"channel": "C1", "user": "U1", "text": text, "ts": "1700000099.000002", "thread_ts": digest_ts}
    # Slack sends both an app_mention and a message event for one mention in a thread: one answer.
    await runtime.app.async_dispatch(event_request({"type": "message", **base}, event_id="EvMsg"))
    await runtime.app.async_dispatch(event_request({"type": "app_mention", **base}, event_id="EvMention"))
    answer = (await wait_for(lambda: fake.posts()[1:]))[0]
    await asyncio.sleep(0.2)
    assert len(fake.posts()) == 2
    assert answer["thread_ts"] == digest_ts and answer["text"].startswith("Q: what data does it use?")


async def test_the_same_event_delivered_twice_is_handled_once(db: Database, fake: FakeSlack):
    await ingest_samples(db)
    bot = make_bot(db)
    runtime = runtime_for(bot.core, fake, deduper=EventDeduper())
    digest_ts, _ = await post_digest(db, bot.core, fake)
    event = {"type": "message", "channel": "C1", "user": "U1", "text": "tl;dr 1", "ts": "1700000099.000003",
             "thread_ts": digest_ts}
    first = await runtime.app.async_dispatch(event_request(event, event_id="EvSame"))
    again = await runtime.app.async_dispatch(event_request(event, event_id="EvSame", retry=1))
    assert first.status == again.status == 200
    await wait_for(lambda: fake.posts()[1:])
    await asyncio.sleep(0.2)
    assert len(fake.posts()) == 2


async def test_a_retry_reaching_another_replica_is_handled_once(db: Database, fake: FakeSlack):
    """Two HTTP-mode processes on one database: the retry goes to the other one, which must drop it."""
    await ingest_samples(db)
    bot = make_bot(db)
    first_replica = runtime_for(bot.core, fake, deduper=DatabaseEventDeduper(db))
    second_replica = runtime_for(make_bot(db).core, fake, deduper=DatabaseEventDeduper(db))
    digest_ts, _ = await post_digest(db, bot.core, fake)
    event = {"type": "message", "channel": "C1", "user": "U1", "text": "tl;dr 1", "ts": "1700000099.000004",
             "thread_ts": digest_ts}
    await first_replica.app.async_dispatch(event_request(event, event_id="EvReplica"))
    again = await second_replica.app.async_dispatch(event_request(event, event_id="EvReplica", retry=1))
    assert again.status == 200
    await wait_for(lambda: fake.posts()[1:])
    await asyncio.sleep(0.2)
    assert len(fake.posts()) == 2


# -- signatures --------------------------------------------------------------------------------------------------


async def test_forged_or_stale_signatures_get_401(fake: FakeSlack, db: Database):
    runtime = runtime_for(make_bot(db).core, fake)
    event = {"type": "app_mention", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.1"}
    forged = event_request(event, secret="not-the-secret")
    stale = event_request(event, event_id="Ev2", timestamp=int(time.time()) - 600)
    for request in (forged, stale):
        assert (await runtime.app.async_dispatch(request)).status == 401
    assert not fake.posts() and not fake.calls("/api/chat.postEphemeral")


# -- digests: rate limits, pacing, errors ------------------------------------------------------------------------


def destination(channel: str = "C9") -> Destination:
    return Destination(key=f"slack:{TEAM}:{channel}", platform="slack", workspace=TEAM, channel=channel)


async def test_a_429_with_retry_after_is_waited_out_and_the_digest_delivered(fake: FakeSlack):
    fake.route("POST", "/api/chat.postMessage", [rate_limited(3), ok(ts="1700000000.500000")])
    sleeps = Sleeps()
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url, sleep=sleeps), sleep=sleeps)
    result = await poster.post_digest(destination(), Message(header="Digest", items=[paper(1)]))
    assert result.message_ref == "1700000000.500000"
    assert len(fake.posts()) == 2
    assert any(3 <= s < 4 for s in sleeps.calls)  # Retry-After honoured (through the injected sleep)


async def test_a_429_of_the_history_lookup_holds_up_no_post(fake: FakeSlack):
    """Slack's rate limits are per method: conversations.history is Tier 3, and for apps outside the Marketplace
    one call a minute (https://api.slack.com/changelog/2025-05-terms-rate-limit-update-and-faq). Its 429 makes
    the lookup wait or retry later, but the workspace's digests post on at once."""
    fake.route("GET", "/api/conversations.history", rate_limited(60))
    sleeps = Sleeps()
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url, sleep=sleeps), sleep=sleeps)
    tag = DigestTag(destination("C1").key, TODAY, since=datetime(2026, 4, 22, 9, tzinfo=UTC))
    with pytest.raises(DeliveryError) as limited:
        await poster.find_digest(destination("C1"), tag)
    assert limited.value.retry_after is not None and limited.value.retry_after >= 59
    waited = len(sleeps.calls)  # the lookup itself waits out its minutes (below)
    result = await poster.post_digest(destination("C2"), Message(header="Digest", items=[paper(1)]))
    assert result.message_ref and fake.posts()[0]["channel"] == "C2"
    assert not any(s > 5 for s in sleeps.calls[waited:]), sleeps.calls  # the post did not wait out that minute


async def test_a_lookup_limited_to_a_page_a_minute_waits_its_minute_and_finds_the_post(fake: FakeSlack):
    """Outside the Slack Marketplace, conversations.history answers 15 messages a page, one call a minute: the
    search for an earlier attempt's digest waits out the minute between pages (else every retry would read the
    first page again and be refused the second) and finds the digest on the second page."""
    sleeps = Sleeps()
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url, sleep=sleeps), sleep=sleeps)
    tag = DigestTag(destination("C1").key, TODAY, since=datetime.fromtimestamp(1_700_000_000 - 60, UTC))
    posted = await poster.post_digest(destination("C1"), Message(header="Digest", items=[paper(1)]), tag=tag)
    for n in range(20):  # the channel talks on: the digest is now on the second page of fifteen
        fake.history["C1"].append({"type": "message", "ts": f"1700000100.{n:06d}", "text": "chat", "user": "U1"})
    real = fake.routes[("GET", "/api/conversations.history")]
    assert callable(real)
    calls: list[int] = []

    def tier_one(rec: Any) -> Reply:
        calls.append(1)
        if len(calls) == 2:  # the second call within the minute
            return rate_limited(60)
        rec.query["limit"] = ["15"]  # Slack lowers any larger limit to 15 for such apps
        return real(rec)

    fake.route("GET", "/api/conversations.history", tier_one)
    found = await poster.find_digest(destination("C1"), tag)
    assert found is not None and found.message_ref == posted.message_ref
    assert any(60 <= s < 61 for s in sleeps.calls)


async def test_long_digests_are_split_paced_per_channel_and_each_part_recorded(db: Database, fake: FakeSlack):
    sleeps = Sleeps()
    clock = iter(range(100))
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url),
                         record=make_bot(db).core.record_digest_parts, sleep=sleeps, clock=lambda: 0.25 * next(clock))
    message = Message(header="Digest", items=[paper(n) for n in range(1, 31)])
    result = await poster.post_digest(destination("C7"), message)
    posts = fake.posts()
    assert len(posts) == len(render_message(message)) > 1
    assert all(p["channel"] == "C7" and p["text"] for p in posts)
    assert sleeps.calls and all(0 < s <= 1.0 for s in sleeps.calls)  # about one message a second
    assert result.message_ref == "1700000000.000001"
    async with db.session() as session:
        part = await find_posted(session, f"slack:{TEAM}:C7", "1700000000.000002")
    assert part is not None and list(part.paper_ids) == list(range(1, 31))
    # Had the process died before recording them, a retry would find every part in the channel's history.
    tagged = DigestTag(f"slack:{TEAM}:C7", TODAY, since=datetime.fromtimestamp(1_700_000_000 - 60, UTC))
    await SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url), sleep=sleeps).post_digest(
        destination("C8"), message, tag=tagged)
    found = await poster.find_digest(destination("C8"), tagged)
    assert found is not None and [found.message_ref, *found.later_refs] == [
        m["ts"] for m in fake.history["C8"]] and len(found.later_refs) == len(posts) - 1


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
async def test_gone_channels_are_permanent_failures(fake: FakeSlack, error: str):
    fake.route("POST", "/api/chat.postMessage", slack_error(error))
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url), sleep=Sleeps())
    with pytest.raises(DeliveryError) as caught:
        await poster.post_digest(destination(), Message(header="Digest", items=[paper(1)]))
    assert caught.value.permanent and error in str(caught.value)


async def test_a_long_rate_limit_becomes_retry_after(fake: FakeSlack):
    fake.route("POST", "/api/chat.postMessage", rate_limited(120))
    sleeps = Sleeps()
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url, sleep=sleeps), sleep=sleeps)
    with pytest.raises(DeliveryError) as caught:
        await poster.post_digest(destination(), Message(header="Digest", items=[paper(1)]))
    assert caught.value.retry_after == 120 and not caught.value.permanent


# -- OAuth: many workspaces --------------------------------------------------------------------------------------


@pytest.fixture
async def oauth_runtime(db: Database, fake: FakeSlack) -> AsyncIterator[SlackRuntime]:
    creds = SlackCredentials(signing_secret=SecretStr(SIGNING_SECRET), client_id="111.222",
                             client_secret=SecretStr("client-secret"), api_base_url=fake.api_url)
    runtime = build_slack_app(make_bot(db).core, creds, db=db, sleep=Sleeps())
    await runtime.prepare()
    yield runtime


async def test_oauth_installs_are_stored_in_paperboys_database_and_used_for_digests(
        oauth_runtime: SlackRuntime, fake: FakeSlack):
    from slack_bolt.request.async_request import AsyncBoltRequest

    flow = oauth_runtime.app.oauth_flow
    assert flow is not None
    page = await flow.handle_installation(AsyncBoltRequest(body="", query="", headers={}))
    assert page.status in (200, 302) and "state=" in (page.headers.get("location", [""])[0] + str(page.body))
    store = oauth_runtime.installation_store
    assert store is not None
    await store.async_save(Installation(app_id="A1", team_id="T2", bot_token="xoxb-team-two", bot_id="B2",
                                        bot_user_id="U2", bot_scopes=["chat:write"], user_id="U9"))
    await oauth_runtime.poster.post_digest(
        Destination(key="slack:T2:C1", platform="slack", workspace="T2", channel="C1"), Message(header="Hi"))
    (call,) = fake.calls("/api/chat.postMessage")
    assert call.headers.get("Authorization") == "Bearer xoxb-team-two"
    with pytest.raises(DeliveryError) as caught:
        await oauth_runtime.poster.post_digest(
            Destination(key="slack:T3:C1", platform="slack", workspace="T3", channel="C1"), Message(header="Hi"))
    assert caught.value.permanent


async def test_a_digest_posted_by_a_process_that_died_before_recording_it_is_found_not_posted_again(
        db: Database, fake: FakeSlack):
    await ingest_samples(db)
    core = make_bot(db).core
    services = core.services
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url),
                         record=core.record_digest_parts, sleep=Sleeps())
    async with db.session() as s:
        destination = await ensure_destination(s, "slack", TEAM, "C1")
    # The fake's message timestamps are 1700000000.x; the dead process claimed a minute before its post.
    claimed_at = datetime.fromtimestamp(1_700_000_000 - 60, UTC)
    first = await post_then_die(services, "slack", poster, destination, TODAY, claimed_at)
    tag = DigestTag(destination.key, TODAY)
    sent = fake.posts()
    payloads = [p["metadata"]["event_payload"] for p in sent if p["metadata"]["event_type"] == "paperboy_digest"]
    assert [(p["tag"], p["day"], p["part"], [e["number"] for e in p["listed"]]) for p in payloads] == [
        (tag.token, TODAY.isoformat(), i, list(range(1, 11))) for i in range(len(sent))]
    # Someone chats in the channel afterwards; the search reads past it.
    fake.history["C1"].append({"type": "message", "ts": "1700000100.000001", "text": "thanks!", "user": "U1"})

    outcome = await take_over(services, "slack", poster, destination, TODAY, claimed_at)
    assert outcome.status == "posted" and "found from an earlier attempt" in outcome.detail
    assert len(fake.posts()) == len(sent)  # nothing posted a second time
    (lookup,) = fake.history_calls()
    assert lookup.query["channel"] == ["C1"] and lookup.query["include_all_metadata"] == ["1"]
    assert float(lookup.query["oldest"][0]) <= claimed_at.timestamp()
    async with db.session() as s:
        delivery = await get_delivery(s, destination.key, TODAY)
        recorded = await find_posted(s, destination.key, first.message_ref)
    assert delivery is not None and delivery.status == "posted" and delivery.message_ref == first.message_ref
    assert recorded is not None and recorded.kind == "digest" and list(recorded.paper_ids) == list(outcome.paper_ids)
    # which paper each number is, should the digest rank differently by a retry
    assert [e["paper"] for e in payloads[0]["listed"]] == list(recorded.paper_ids)
    other = DigestTag(destination.key, TODAY + timedelta(days=1), since=claimed_at)
    assert await poster.find_digest(destination, other) is None


async def test_a_connection_dropped_after_slack_took_the_digest_posts_it_once(db: Database, fake: FakeSlack):
    """Slack stores the digest, then the connection drops before its answer (ServerDisconnectedError). slack_sdk
    would send chat.postMessage again at once — a second digest in the channel. The attempt fails instead, and
    the retry finds the tagged post and records it: one digest. A connection never made is still retried."""
    await ingest_samples(db)
    core = make_bot(db).core
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url),
                         record=core.record_digest_parts, sleep=Sleeps())
    real_post = fake.routes[("POST", "/api/chat.postMessage")]
    assert callable(real_post)
    dropped: list[int] = []

    def take_then_drop(rec: Any) -> Reply:
        answer = real_post(rec)
        if not dropped:
            dropped.append(1)
            return Reply(disconnect=True)
        return answer

    fake.route("POST", "/api/chat.postMessage", take_then_drop)
    async with db.session() as s:
        destination = await ensure_destination(s, "slack", TEAM, "C1")
    claimed_at = datetime.fromtimestamp(1_700_000_000 - 60, UTC)  # the fake's messages are 1700000000.x
    outcomes = []
    for now in (claimed_at, claimed_at + timedelta(hours=1)):
        runner = DigestRunner(core.services, {"slack": poster}, owner="host:1",
                              settings=DigestSettings(lease_seconds=600), clock=lambda now=now: now)
        outcomes.append(await runner.run_one(destination, TODAY, now=now))
    assert [o.status for o in outcomes] == ["failed", "posted"], outcomes
    assert "found from an earlier attempt" in outcomes[1].detail
    assert len(fake.posts()) == 1  # Slack got it once, and it was not sent again


async def test_a_failed_history_lookup_posts_nothing_and_is_retried(fake: FakeSlack):
    fake.route("GET", "/api/conversations.history", slack_error("missing_scope"))
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url), sleep=Sleeps())
    tag = DigestTag(destination().key, TODAY, since=datetime(2026, 4, 22, 9, tzinfo=UTC))
    with pytest.raises(DeliveryError) as caught:
        await poster.find_digest(destination(), tag)
    assert "history lookup" in str(caught.value) and "missing_scope" in str(caught.value)
    assert fake.posts() == []


async def a_digest_tried_twice(db: Database, fake: FakeSlack, answers: list[str | None],
                               meanwhile: Callable[[], Awaitable[None]] | None = None) -> tuple[Destination, Any]:
    """A channel's digest of twenty-odd papers (two Slack messages) run by the real runner, then retried an hour
    later (`meanwhile` runs in between); `answers` are Slack's to its chat.postMessage calls in turn (None:
    posted), then all is posted. The first attempt must fail and the retry post: (the destination, the retry's
    outcome)."""
    await ingest_samples(db)
    core = make_bot(db).core
    services = dataclasses.replace(core.services, digest_max_items=30)
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url),
                         record=core.record_digest_parts, sleep=Sleeps())
    given = iter(answers)
    real_post = fake.routes[("POST", "/api/chat.postMessage")]
    assert callable(real_post)
    fake.route("POST", "/api/chat.postMessage",
               lambda rec: slack_error(error) if (error := next(given, None)) else real_post(rec))
    async with db.session() as s:
        destination = await ensure_destination(s, "slack", TEAM, "C1")
    claimed_at = datetime.fromtimestamp(1_700_000_000 - 60, UTC)  # the fake's messages are 1700000000.x
    for now, status in ((claimed_at, "failed"), (claimed_at + timedelta(hours=1), "posted")):
        runner = DigestRunner(services, {"slack": poster}, owner="host:1", settings=DigestSettings(lease_seconds=600),
                              clock=lambda now=now: now)
        outcome = await runner.run_one(destination, TODAY, now=now)
        assert outcome.status == status, outcome
        if status == "failed" and meanwhile is not None:
            await meanwhile()
    return destination, outcome


async def test_a_digest_split_over_messages_that_failed_after_its_first_gets_its_other_papers_on_the_retry(
        db: Database, fake: FakeSlack):
    """Slack refuses the second message: the retry finds the first in the channel's history (its metadata says
    which papers it lists) and posts the others, as the digest's next parts, once each."""
    destination, outcome = await a_digest_tried_twice(db, fake, [None, "internal_error"])
    assert "found from an earlier attempt; posted the " in outcome.detail
    parts = sorted(fake.history["C1"], key=lambda m: m["ts"])
    payloads = [m["metadata"]["event_payload"] for m in parts]
    assert [p["part"] for p in payloads] == list(range(len(parts))) and len(parts) >= 2
    listed = [e["number"] for p in payloads for e in p["listed"]]
    assert listed == list(range(1, len(outcome.paper_ids) + 1))  # every paper once, in order, keeping its number
    assert "(continued)" in parts[1]["text"] and "(continued) (continued)" not in str(fake.posts())
    async with db.session() as s:
        delivery = await get_delivery(s, destination.key, TODAY)
        last = await find_posted(s, destination.key, parts[-1]["ts"])
    assert delivery is not None and delivery.status == "posted" and delivery.message_ref == parts[0]["ts"]
    assert last is not None and list(last.paper_ids) == list(outcome.paper_ids) and len(last.paper_ids) > 20


async def test_a_split_digest_completed_after_its_ranking_changed_shows_every_paper_once(db: Database,
                                                                                          fake: FakeSlack):
    """Between the attempts a paper the first message did not list rose to the top (its upvotes jumped): the
    retry still posts every paper the first message did not show, each once, numbered on from it, and records
    the digest in the order its numbers show, so "summarize 1" is the paper shown as 1."""

    async def a_paper_rises() -> None:
        shown = [e["paper"] for e in fake.posts()[0]["metadata"]["event_payload"]["listed"]]
        async with db.session() as s:
            day = (await s.execute(select(Paper.listed_on).where(Paper.id == shown[0]))).scalar_one()
            of_the_day = set((await s.execute(select(Paper.id).where(Paper.listed_on == day))).scalars())
            rising = min(of_the_day - set(shown))
            await s.execute(update(Paper).where(Paper.id == rising).values(upvotes=10_000))

    destination, outcome = await a_digest_tried_twice(db, fake, [None, "internal_error"], a_paper_rises)
    parts = sorted(fake.history["C1"], key=lambda m: m["ts"])
    payloads = [m["metadata"]["event_payload"] for m in parts]
    numbers = [e["number"] for p in payloads for e in p["listed"]]
    papers = [e["paper"] for p in payloads for e in p["listed"]]
    assert numbers == list(range(1, len(papers) + 1)) and len(papers) > 20
    assert sorted(papers) == sorted(set(outcome.paper_ids)) == sorted(outcome.paper_ids)  # each paper, once
    assert list(outcome.paper_ids) == papers  # recorded as the numbers show them
    async with db.session() as s:
        last = await find_posted(s, destination.key, parts[-1]["ts"])
    assert last is not None and list(last.paper_ids) == papers


async def test_a_split_digest_whose_rest_can_never_be_posted_is_recorded_with_what_got_out(db: Database,
                                                                                            fake: FakeSlack):
    """The retry finds the first message but Slack refuses the rest for good (the channel was archived meanwhile):
    what got out is recorded as the digest, so replies under it work, and it is not retried for ever."""
    destination, outcome = await a_digest_tried_twice(db, fake, [None, "internal_error", "is_archived"])
    assert outcome.detail.endswith("found from an earlier attempt")
    (first,) = fake.history["C1"]
    async with db.session() as s:
        delivery = await get_delivery(s, destination.key, TODAY)
        recorded = await find_posted(s, destination.key, first["ts"])
    assert delivery is not None and delivery.status == "posted" and delivery.message_ref == first["ts"]
    assert recorded is not None and list(recorded.paper_ids) == list(outcome.paper_ids)


async def test_a_digest_carries_its_tag_as_metadata_and_is_found_in_history(fake: FakeSlack):
    """Every part of a digest carries its delivery's tag as message metadata; conversations.history with
    metadata finds it, so a process taking over never posts it twice."""
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url), sleep=Sleeps())
    message = Message(header="Paperboy · Mon Apr 20", items=[paper(1)])
    tag = DigestTag(destination().key, date(2026, 4, 20))
    assert await poster.find_digest(destination(), tag) is None  # nothing there yet: post
    posted = await poster.post_digest(destination(), message, tag=tag)
    assert fake.posts()[0]["metadata"] == {
        "event_type": "paperboy_digest", "event_payload": {"tag": tag.token, "day": "2026-04-20", "part": 0,
                                                           "listed": [{"number": 1, "paper": 1}]}}
    found = await poster.find_digest(destination(), tag)
    assert found is not None and found.message_ref == posted.message_ref and found.listed == {1: "#1"}
    assert fake.history_calls()[-1].query["include_all_metadata"] == ["1"]
    assert await poster.find_digest(destination(), DigestTag(destination().key, date(2026, 4, 21))) is None
    assert len(fake.posts()) == 1


def test_a_digest_part_says_which_papers_it_lists_in_the_shapes_every_version_wrote():
    """What a found part lists: each number with its paper (this version), numbers only (the version before:
    a retry falls back to the numbers), or nothing to go by (older: the digest counts as complete)."""
    def part(payload: dict[str, Any]) -> dict[str, Any]:
        return {"ts": "1.0", "metadata": {"event_type": "paperboy_digest", "event_payload": {"part": 0, **payload}}}

    assert listed_papers(part({"listed": [{"number": 1, "paper": 23}, {"number": 2, "paper": 7}]})) == {
        1: "#23", 2: "#7"}
    assert listed_papers(part({"items": [1, 2]})) == {1: None, 2: None}
    assert listed_papers(part({})) is None and listed_papers(part({"items": ["1"]})) is None
    assert listed_papers(part({"listed": [{"number": 1}], "items": [1]})) == {1: None}


async def test_a_failure_outside_the_core_gets_the_apology_through_bolts_error_hook(db: Database, fake: FakeSlack):
    """Slack refuses the list post with a transient error: bolt's `app.error` hook tells the user, privately."""
    await ingest_samples(db)
    fake.route("POST", "/api/chat.postMessage", slack_error("internal_error"))
    runtime = runtime_for(make_bot(db).core, fake, post_lists_as_messages=True)
    await runtime.app.async_dispatch(command_request("/papers", "today", fake.response_url(9)))
    (answer,) = await wait_for(lambda: fake.responses(9))
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Sorry, something went wrong on my side")
    assert "internal_error" not in answer["text"] and "Traceback" not in answer["text"]


# -- issue 15: Slack as admins deploy it ---------------------------------------------------------------------------


async def recorded(db: Database, channel: str, ts: str) -> Any:
    for _ in range(200):  # recorded just after the post returns
        async with db.session() as session:
            if (found := await find_posted(session, f"slack:{TEAM}:{channel}", ts)) is not None:
                return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"{ts} in {channel} was not recorded")


@pytest.mark.parametrize("refusal", ["not_member", "read_only"])
async def test_where_the_bot_cannot_post_lists_and_clicks_are_answered_through_response_url(
        db: Database, fake: FakeSlack, refusal: str):
    """/papers today in a channel the bot is not in (not_in_channel), or in an announcement channel only admins
    may post in (a member bot is refused with restricted_action_read_only_channel, which got the apology instead
    of the list), answers through response_url; a Summarize click on that list cannot be posted in the thread,
    so it is answered to the clicker through the click's own response_url instead of failing silently."""
    await ingest_samples(db)
    getattr(fake, refusal).add("C5")
    runtime = runtime_for(make_bot(db).core, fake)
    await runtime.app.async_dispatch(command_request("/papers", "today", fake.response_url(1), channel="C5"))
    (listing,) = await wait_for(lambda: fake.responses(1))
    assert listing["response_type"] == "in_channel" and listing["text"].startswith("Papers of")
    button = next(b for b in listing["blocks"] if b["type"] == "actions")["elements"][0]
    click = action_request(button["action_id"], button["value"], message_ts="1700000050.000001", channel="C5",
                           response_url=fake.response_url(2))
    assert (await runtime.app.async_dispatch(click)).status == 200
    (answer,) = await wait_for(lambda: fake.responses(2))
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert answer["text"].startswith("Summary:")


@pytest.mark.parametrize("command", ["today", "show"])
async def test_thread_replies_under_papers_today_and_show_work_by_default(db: Database, fake: FakeSlack,
                                                                          command: str):
    await ingest_samples(db)
    runtime = runtime_for(make_bot(db).core, fake)  # as `paperboy run` builds it: no option to set
    if command == "show":
        async with db.session() as session:
            paper_id = (await session.execute(select(Paper.id).order_by(Paper.id).limit(1))).scalar()
        command = f"show #{paper_id}"
    await runtime.app.async_dispatch(command_request("/papers", command, fake.response_url(3)))
    await wait_for(lambda: fake.posts() or fake.responses(3))
    assert not fake.responses(3), fake.responses(3)
    (listing,) = await wait_for(lambda: fake.posts())
    assert listing["channel"] == "C1" and not fake.responses(3)
    await recorded(db, "C1", "1700000000.000001")
    reply = {"type": "message", "channel": "C1", "user": "U1", "text": "summarize 1", "ts": "1700000099.000010",
             "thread_ts": "1700000000.000001"}
    await runtime.app.async_dispatch(event_request(reply, event_id="EvListThread"))
    answer = (await wait_for(lambda: fake.posts()[1:]))[0]
    assert answer["thread_ts"] == "1700000000.000001" and answer["text"].startswith("Summary:")


async def test_typed_ampersands_and_angle_brackets_are_decoded_once(db: Database, fake: FakeSlack):
    """Slack sends "R&D" as "R&amp;D": the topic is stored as typed, and shown escaped once."""
    from bot.scope import Scope
    from storage.subscription_store import list_topics

    await ingest_samples(db)
    bot = make_bot(db)
    runtime = runtime_for(bot.core, fake)
    await runtime.app.async_dispatch(command_request("/subscribe", "R&amp;D &lt;robots&gt;", fake.response_url(4)))
    (answer,) = await wait_for(lambda: fake.responses(4))
    async with db.session() as session:
        topics = await list_topics(session, Scope.for_channel("slack", TEAM, "C1"))
    assert [t.lower() for t in topics] == ["r&d <robots>"]
    assert "&amp;amp;" not in answer["text"] and "&amp;lt;" not in answer["text"]

    digest_ts, _ = await post_digest(db, bot.core, fake)
    question = {"type": "message", "channel": "C1", "user": "U1", "ts": "1700000099.000011", "thread_ts": digest_ts,
                "text": "1: is &lt;b&gt;this&lt;/b&gt; R&amp;D?"}
    await runtime.app.async_dispatch(event_request(question, event_id="EvEntities"))
    reply = (await wait_for(lambda: fake.posts()[1:]))[0]
    assert reply["text"].startswith("Q: is &lt;b&gt;this&lt;/b&gt; R&amp;D?")  # mrkdwn-escaped once, not twice


@pytest.mark.parametrize(("channel", "command", "text"), [
    ("C6", "/subscribe", "diffusion models"), ("C6", "/papers", "digest 09:00"), ("G7", "/subscribe", "robots")])
async def test_subscribing_a_channel_the_bot_is_not_in_says_how_to_invite_it(db: Database, fake: FakeSlack,
                                                                             channel: str, command: str, text: str):
    from bot.scope import Scope
    from storage.destination_store import get_destination
    from storage.subscription_store import list_topics

    fake.not_member.add("C6")
    fake.hidden.add("G7")  # a private channel the bot is not in: Slack does not even show it
    runtime = runtime_for(make_bot(db).core, fake)
    await runtime.app.async_dispatch(command_request(command, text, fake.response_url(5), channel=channel))
    (answer,) = await wait_for(lambda: fake.responses(5))
    assert answer["response_type"] == "ephemeral"
    assert "/invite @paperboy" in answer["text"] and "Nothing was changed" in answer["text"]
    assert fake.calls("/api/conversations.info")[0].query["channel"] == [channel]
    async with db.session() as session:
        assert await list_topics(session, Scope.for_channel("slack", TEAM, channel)) == []
        destination = await get_destination(session, f"slack:{TEAM}:{channel}")
    assert destination is None or not destination.digest_enabled or command == "/subscribe"


async def test_member_channels_and_personal_subscriptions_are_not_held_up(db: Database, fake: FakeSlack):
    from bot.scope import Scope
    from storage.subscription_store import list_topics

    fake.not_member.add("C6")
    runtime = runtime_for(make_bot(db).core, fake)
    await runtime.app.async_dispatch(command_request("/subscribe", "robots", fake.response_url(1), channel="C1"))
    await runtime.app.async_dispatch(command_request("/subscribe", "--me graphs", fake.response_url(2), channel="C6"))
    await wait_for(lambda: fake.responses(1) and fake.responses(2))
    async with db.session() as session:
        assert await list_topics(session, Scope.for_channel("slack", TEAM, "C1")) == ["robots"]
        assert await list_topics(session, Scope.for_user("slack", TEAM, "U1")) == ["graphs"]
    assert [c.query["channel"] for c in fake.calls("/api/conversations.info")] == [["C1"]]


async def test_a_double_clicked_button_posts_once(db: Database, fake: FakeSlack):
    await ingest_samples(db)
    bot = make_bot(db)
    runtime = runtime_for(bot.core, fake, deduper=EventDeduper())
    digest_ts, _ = await post_digest(db, bot.core, fake)
    button = fake.posts()[0]["blocks"][2]["elements"][0]

    def click(at: str) -> Any:
        return action_request(button["action_id"], button["value"], message_ts=digest_ts, action_ts=at)

    first, second = await asyncio.gather(runtime.app.async_dispatch(click("1700000101.100000")),
                                         runtime.app.async_dispatch(click("1700000101.400000")))
    assert first.status == second.status == 200
    await wait_for(lambda: fake.posts()[1:])
    await asyncio.sleep(0.3)
    assert len(fake.posts()) == 2  # the digest and one summary
    # A deliberate click a minute later is answered again.
    await runtime.app.async_dispatch(click("1700000161.000000"))
    await wait_for(lambda: fake.posts()[2:])


async def test_today_pages_so_the_digest_footer_leads_somewhere(db: Database, fake: FakeSlack):
    await ingest_samples(db)
    runtime = runtime_for(make_bot(db).core, fake)
    await runtime.app.async_dispatch(command_request("/papers", "today", fake.response_url(1)))
    (first,) = await wait_for(lambda: fake.posts())
    footer = [e["text"] for b in first["blocks"] if b["type"] == "context" for e in b["elements"]]
    more = next(t for t in footer if "more —" in t)
    assert more.endswith("/papers today 2")
    await runtime.app.async_dispatch(command_request("/papers", "today 2", fake.response_url(2)))
    second = (await wait_for(lambda: fake.posts()[1:]))[0]
    assert "(11–" in second["blocks"][0]["text"]["text"]
    first_titles = {b["text"]["text"] for b in first["blocks"] if b["type"] == "section"}
    assert not first_titles & {b["text"]["text"] for b in second["blocks"] if b["type"] == "section"}
    await runtime.app.async_dispatch(command_request("/papers", "today 99", fake.response_url(3)))
    (nothing,) = await wait_for(lambda: fake.responses(3))
    assert nothing["response_type"] == "ephemeral" and "no page 99" in nothing["text"]


async def test_uninstalling_the_app_removes_the_workspaces_install(oauth_runtime: SlackRuntime, fake: FakeSlack):
    store = oauth_runtime.installation_store
    assert store is not None
    for team in (TEAM, "T2"):
        await store.async_save(Installation(app_id="A1", team_id=team, bot_token=f"xoxb-{team}", bot_id="B1",
                                            bot_user_id=BOT_USER, bot_scopes=["chat:write"], user_id="U9"))
    response = await oauth_runtime.app.async_dispatch(event_request({"type": "app_uninstalled"},
                                                                    event_id="EvUninstall"))
    assert response.status == 200
    for _ in range(200):
        if await store.async_find_bot(enterprise_id=None, team_id=TEAM) is None:
            break
        await asyncio.sleep(0.02)
    assert await store.async_find_bot(enterprise_id=None, team_id=TEAM) is None
    assert await store.async_find_bot(enterprise_id=None, team_id="T2") is not None  # other workspaces stay
    with pytest.raises(DeliveryError) as caught:
        await oauth_runtime.poster.post_digest(destination("C1"), Message(header="Hi"))
    assert caught.value.permanent and fake.posts() == []


async def test_revoked_bot_tokens_are_removed(oauth_runtime: SlackRuntime):
    store = oauth_runtime.installation_store
    assert store is not None
    await store.async_save(Installation(app_id="A1", team_id=TEAM, bot_token="xoxb-revoked", bot_id="B1",
                                        bot_user_id=BOT_USER, bot_scopes=["chat:write"], user_id="U9"))
    event = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [BOT_USER]}}
    assert (await oauth_runtime.app.async_dispatch(event_request(event, event_id="EvRevoked"))).status == 200
    for _ in range(200):
        if await store.async_find_bot(enterprise_id=None, team_id=TEAM) is None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the revoked bot token is still stored")


async def test_a_garbled_request_timestamp_gets_401_not_500(fake: FakeSlack, db: Database):
    runtime = runtime_for(make_bot(db).core, fake)
    event = {"type": "app_mention", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.1"}
    for stamp in ("soon", "", "1e9", "-5"):
        request = event_request(event, event_id="EvStamp")
        request.headers["x-slack-request-timestamp"] = [stamp]
        assert (await runtime.app.async_dispatch(request)).status == 401
    assert not fake.posts()


def still_time_poster(fake: FakeSlack, token: str = "xoxb-test",
                      time_: FakeTime | None = None) -> tuple[SlackPoster, FakeTime]:
    """A poster whose waits are recorded while its clock stands still (they come right after one another)."""
    time_ = time_ or FakeTime()

    async def sleep(seconds: float) -> None:
        time_.sleeps.append(seconds)

    client = make_web_client(SecretStr(token), base_url=fake.api_url, sleep=sleep, clock=time_.clock)
    return SlackPoster(client, sleep=sleep, clock=time_.clock), time_


async def test_after_a_429_other_channels_of_the_workspace_wait_it_out_too(fake: FakeSlack):
    """Slack's limit is per workspace: once it said "Retry-After: 3", the next channel's digest waits the same
    3 s before posting, instead of hitting the limit again (the clock stands still: it comes right after)."""
    fake.route("POST", "/api/chat.postMessage", [rate_limited(3), ok(ts="1700000000.500000")])
    poster, time_ = still_time_poster(fake)
    await poster.post_digest(destination("C1"), Message(header="Digest", items=[paper(1)]))
    assert len(time_.sleeps) == 1 and 3 <= time_.sleeps[0] < 4  # the 429 itself, waited out
    await poster.post_digest(destination("C2"), Message(header="Digest", items=[paper(1)]))
    assert time_.sleeps[1:] == [3.0]  # another channel, same workspace: held back as long
    other, _ = still_time_poster(fake, "xoxb-other", time_)
    await other.post_digest(destination("C3"), Message(header="Digest", items=[paper(1)]))
    assert time_.sleeps[1:] == [3.0]  # another workspace: not held
    time_.now += 200
    fake.route("POST", "/api/chat.postMessage", [rate_limited(120), ok(ts="1700000000.600000")])
    with pytest.raises(DeliveryError):
        await poster.post_digest(destination("C4"), Message(header="Digest", items=[paper(1)]))
    requests = len(fake.posts())
    with pytest.raises(DeliveryError) as caught:  # beyond the cap: retried later, without another request
        await poster.post_digest(destination("C5"), Message(header="Digest", items=[paper(1)]))
    assert caught.value.retry_after is not None and caught.value.retry_after > 100
    assert len(fake.posts()) == requests


async def test_a_follow_up_waits_out_the_workspaces_429_like_a_digest(fake: FakeSlack):
    """A digest's 429 holds the whole workspace; a follow-up posted right after went straight to Slack and hit
    the limit again (each such 429 makes Slack's back-off longer)."""
    from bot.followups.poster import ThreadTarget

    fake.route("POST", "/api/chat.postMessage", [rate_limited(3), ok(ts="1700000000.500000"),
                                                 ok(ts="1700000000.500001")])
    poster, time_ = still_time_poster(fake)
    await poster.post_digest(destination("C1"), Message(header="Digest", items=[paper(1)]))
    assert len(time_.sleeps) == 1  # the 429 itself, waited out
    target = ThreadTarget(message_ref="1700000000.500000", thread_ref=None, claim_key="slack:C2", day=TODAY)
    await poster.post_followup(destination("C2"), target, Message(header="Follow-up", items=[paper(1)]))
    assert time_.sleeps[1:] == [3.0]  # another channel of the workspace: held back as long


async def test_a_channel_the_bot_is_not_in_is_listed_as_failing_in_digest_status(db: Database, db_env: dict[str, str],
                                                                                 fake: FakeSlack):
    from bot.digests.digest_runner import DigestRunner, DigestSettings
    from tests.cli_runner import paperboy

    await ingest_samples(db)
    fake.not_member.add("C6")
    async with db.session() as session:
        await ensure_destination(session, "slack", TEAM, "C6")
        await ensure_destination(session, "slack", TEAM, "C1")
    poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url), sleep=Sleeps())
    runner = DigestRunner(make_bot(db).core.services, {"slack": poster}, owner="test",
                          settings=DigestSettings(lease_seconds=300))
    outcomes = {o.destination: o.status for o in await runner.run_for(TODAY)}
    assert outcomes == {f"slack:{TEAM}:C1": "posted", f"slack:{TEAM}:C6": "failed"}
    status = await asyncio.to_thread(paperboy, "digest", "status", env=db_env)
    assert status.code == 0, status.err
    failing = status.out.split("\n\n")[0].splitlines()
    assert failing[0] == "Failing: 1 destination"
    assert failing[1].startswith(f"  slack:{TEAM}:C6 {TODAY}") and "not_in_channel" in failing[1]
    assert "/invite @paperboy" in failing[1]
    assert f"slack:{TEAM}:C1" not in "\n".join(failing[:2])
