"""What a digest run does when Slack answers with one of its documented errors: the real `DigestRunner` and
`SlackPoster`, slack_sdk's `AsyncWebClient`, and a fake Slack on 127.0.0.1 answering as the Web API reference
shows it (HTTP status, headers, `{"ok": false, "error": …}` and its extra fields).

Permanent errors end the day's tries for that destination with one clear reason (`paperboy digest status`
shows it); transient ones are retried without posting twice; a rejected token is not tried channel by channel;
no token ever reaches a log line."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.slack.slack_poster import SlackPoster, make_web_client
from bot.commands.context import ChatContext
from bot.destination import Destination as Where
from bot.digests.digest_runner import DigestRunner, DigestSettings, Outcome
from bot.errors import DeliveryError
from bot.messages import Message, PaperItem
from storage.database import Database
from storage.delivery_store import get_delivery
from storage.destination_models import Destination
from storage.destination_store import ensure_destination, find_posted, get_destination
from tests.chat_fixtures import TODAY, ingest_samples, make_bot
from tests.fakes.fake_slack import TEAM, FakeSlack, missing_scope, slack_error, unavailable
from tests.fakes.fake_time import Sleeps
from tests.fakes.http_server import Reply

TOKEN = "xoxb-test-1234567890-SECRET"
CLAIMED_AT = datetime.fromtimestamp(1_700_000_000 - 60, UTC)  # the fake's messages are 1700000000.x



class Clock:
    """One clock for the runner (datetime) and the poster (monotonic seconds), moved by the test."""

    def __init__(self) -> None:
        self.now = CLAIMED_AT

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def poster_for(db: Database, fake: FakeSlack, clock: Clock, token: str = TOKEN) -> SlackPoster:
    sleeps = Sleeps()
    client = make_web_client(SecretStr(token), base_url=fake.api_url, sleep=sleeps, clock=clock.seconds)
    return SlackPoster(client, record=make_bot(db).core.record_digest_parts, sleep=sleeps, clock=clock.seconds)


async def channels(db: Database, *names: str) -> list[Destination]:
    async with db.session() as s:
        return [await ensure_destination(s, "slack", TEAM, name) for name in names]


async def run(db: Database, poster: SlackPoster, destination: Destination, clock: Clock, **services: Any) -> Outcome:
    core = make_bot(db).core
    runner = DigestRunner(dataclasses.replace(core.services, **services), {"slack": poster}, owner="host:1",
                          settings=DigestSettings(lease_seconds=600), clock=clock)
    return await runner.run_one(destination, TODAY, now=clock.now)


def api_calls(fake: FakeSlack) -> int:
    return sum(1 for r in fake.requests if r.path.startswith("/api/"))


@pytest.mark.parametrize("code", ["token_revoked", "invalid_auth", "account_inactive"])
async def test_a_rejected_token_is_tried_once_for_the_workspace_not_once_per_channel(
        db: Database, fake: FakeSlack, caplog: pytest.LogCaptureFixture, code: str):
    """The app was removed from the workspace (or its bot user deactivated) while three channels have digests:
    the first post learns that Slack rejects the token, and says so once, as an error naming what to do; the other
    channels fail with the same reason without asking Slack again. An hour later the token is asked again (a
    reinstall may have brought it back). The token itself is in no log line."""
    await ingest_samples(db)
    first, *others = await channels(db, "C1", "C2", "C3")
    fake.token_errors[TOKEN] = code
    clock = Clock()
    poster = poster_for(db, fake, clock)
    with caplog.at_level(logging.INFO):
        outcome = await run(db, poster, first, clock)
        assert outcome.status == "failed" and code in outcome.detail, outcome
        asked = api_calls(fake)
        assert asked >= 1
        for destination in others:
            outcome = await run(db, poster, destination, clock)
            assert outcome.status == "failed" and code in outcome.detail, outcome
        assert api_calls(fake) == asked  # not asked again for each channel
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and code in errors[0].getMessage() and "reinstall" in errors[0].getMessage()
    assert not any(TOKEN in r.getMessage() or "SECRET" in r.getMessage() for r in caplog.records)
    async with db.session() as s:
        delivery = await get_delivery(s, others[-1].key, TODAY)
    assert delivery is not None and delivery.status == "failed" and code in (delivery.last_error or "")
    # An hour later, the app reinstalled: the token works again and the digest goes out.
    del fake.token_errors[TOKEN]
    clock.now += timedelta(hours=2)
    assert (await run(db, poster, others[-1], clock)).status == "posted"


async def test_missing_scope_says_which_scope_to_add(db: Database, fake: FakeSlack):
    """Slack answers a call its token lacks a scope for with `missing_scope` and the scope it `needed`: the
    failure (log line, `digest status`) names it, not just "missing_scope"."""
    await ingest_samples(db)
    (destination,) = await channels(db, "C1")
    fake.route("POST", "/api/chat.postMessage", missing_scope("chat:write", provided="commands,im:write"))
    clock = Clock()
    outcome = await run(db, poster_for(db, fake, clock), destination, clock)
    assert outcome.status == "failed" and "missing_scope" in outcome.detail and "chat:write" in outcome.detail
    assert "reinstall" in outcome.detail
    # A personal digest's direct message needs im:write to open the conversation.
    fake.route("POST", "/api/conversations.open", missing_scope("im:write"))
    person = Where(key=f"slack:{TEAM}:@U7", platform="slack", workspace=TEAM, channel="", user="U7")
    with pytest.raises(DeliveryError) as caught:
        await poster_for(db, fake, clock).post_digest(person, Message(header="Digest", text="x"))
    assert caught.value.permanent and "needs im:write" in str(caught.value)


def paper(n: int) -> PaperItem:
    return PaperItem(number=n, paper_id=n, title=f"A study of long things, part {n}",
                     url=f"https://arxiv.org/abs/2604.{n:05d}", arxiv_id=f"2604.{n:05d}", tldr="Findings. " * 40)


@pytest.mark.parametrize("code", ["invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long",
                                  "no_text"])
async def test_a_message_slack_refuses_as_it_is_ends_the_tries_and_what_got_out_counts(
        db: Database, fake: FakeSlack, code: str):
    """A digest of two messages whose second Slack refuses as it is (its blocks, its length). Retrying cannot
    change that (it was retried, failing each time, until a retry found the first message): the attempt itself
    records what got out as the digest, so "summarize 3" under it works, and nothing is retried."""
    await ingest_samples(db)
    (destination,) = await channels(db, "C1")
    real_post = fake.routes[("POST", "/api/chat.postMessage")]
    assert callable(real_post)
    posted: list[int] = []

    def second_refused(rec: Any) -> Reply:
        if posted:
            return slack_error(code)
        posted.append(1)
        return real_post(rec)

    fake.route("POST", "/api/chat.postMessage", second_refused)
    clock = Clock()
    poster = poster_for(db, fake, clock)
    first = await run(db, poster, destination, clock, digest_max_items=30)
    assert first.status == "posted" and "the part the platform took" in first.detail, first
    clock.now += timedelta(hours=1)
    assert (await run(db, poster, destination, clock, digest_max_items=30)).status == "skipped"
    (message,) = fake.history["C1"]
    async with db.session() as s:
        delivery = await get_delivery(s, destination.key, TODAY)
        recorded = await find_posted(s, destination.key, message["ts"])
    assert delivery is not None and delivery.status == "posted" and delivery.message_ref == message["ts"]
    assert recorded is not None and recorded.paper_ids


async def test_slack_down_behind_an_html_page_or_a_dropped_connection_is_one_clear_line(
        db: Database, fake: FakeSlack, caplog: pytest.LogCaptureFixture):
    """A 503 with an HTML page (no Web API JSON to read an error from) and a connection Slack closes without an
    answer: each is a transient failure with its reason in one line, never "unknown_error" and never a
    traceback in the log; the next try posts the digest once."""
    await ingest_samples(db)
    first, second = await channels(db, "C1", "C2")
    real_post = fake.routes[("POST", "/api/chat.postMessage")]
    clock = Clock()
    poster = poster_for(db, fake, clock)
    fake.route("POST", "/api/chat.postMessage", unavailable(503))
    with caplog.at_level(logging.INFO):
        down = await run(db, poster, first, clock)
        fake.route("POST", "/api/chat.postMessage", Reply(disconnect=True))
        dropped = await run(db, poster, second, clock)
    assert down.status == "failed" and "HTTP 503" in down.detail and "unknown_error" not in down.detail
    assert dropped.status == "failed" and "ServerDisconnectedError" in dropped.detail, dropped
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]
    fake.route("POST", "/api/chat.postMessage", real_post)
    clock.now += timedelta(hours=1)
    assert [(await run(db, poster, d, clock)).status for d in (first, second)] == ["posted", "posted"]
    assert len(fake.history["C1"]) == 1 and len(fake.history["C2"]) == 1


@pytest.mark.parametrize(("code", "status"), [("fatal_error", 200), ("internal_error", 500),
                                              ("service_unavailable", 503), ("request_timeout", 200)])
async def test_an_error_after_slack_stored_the_post_is_retried_without_posting_twice(
        db: Database, fake: FakeSlack, code: str, status: int):
    """fatal_error and internal_error: "it's possible some aspect of the operation succeeded". Slack stored the
    digest and answered with the error: the attempt fails (transient), the retry finds the tagged post in the
    channel's history and records it. One digest in the channel."""
    await ingest_samples(db)
    (destination,) = await channels(db, "C1")
    real_post = fake.routes[("POST", "/api/chat.postMessage")]
    assert callable(real_post)

    def stored_then_error(rec: Any) -> Reply:
        real_post(rec)
        return slack_error(code, status)

    fake.route("POST", "/api/chat.postMessage", stored_then_error)
    clock = Clock()
    poster = poster_for(db, fake, clock)
    first = await run(db, poster, destination, clock)
    assert first.status == "failed" and code in first.detail
    fake.route("POST", "/api/chat.postMessage", real_post)
    clock.now += timedelta(hours=1)
    retry = await run(db, poster, destination, clock)
    assert retry.status == "posted" and "found from an earlier attempt" in retry.detail
    assert len(fake.history["C1"]) == 1


async def test_a_hundred_paper_digest_stays_within_every_documented_limit(db: Database, fake: FakeSlack):
    """The fake refuses what Slack documents it refuses (over 50 blocks, a section over 3000 characters,
    `text` over 40,000): a large digest is split so that every message is accepted, each paper once."""
    clock = Clock()
    items = [dataclasses.replace(paper(n), title=f"<!channel> {'Very long title ' * 30}{n}", why="x " * 200)
             for n in range(1, 101)]
    poster = poster_for(db, fake, clock)
    result = await poster.post_digest(Where(key=f"slack:{TEAM}:C1", platform="slack", workspace=TEAM, channel="C1"),
                                      Message(header="Digest " * 40, items=items))
    posts = fake.posts()
    assert result.message_ref and len(posts) == len(fake.history["C1"]) > 1
    for body in posts:
        assert len(body["blocks"]) <= 50 and 0 < len(body["text"]) <= 40_000
    sections = "\n".join(b["text"]["text"] for body in posts for b in body["blocks"] if b["type"] == "section")
    assert all(sections.count(f"abs/2604.{n:05d}") == 1 for n in range(1, 101))


async def ticks(runner: DigestRunner, clock: Clock, until: datetime, every: timedelta) -> list[Outcome]:
    """The scheduler's ticks from the clock's time to `until`, as `paperboy run` makes them."""
    outcomes: list[Outcome] = []
    while clock.now < until:
        outcomes += await runner.run_due(clock.now)
        clock.now += every
    return outcomes


async def test_a_channel_slack_says_is_gone_is_tried_once_a_day_and_a_passing_error_keeps_its_backoff(
        db: Database, fake: FakeSlack, caplog: pytest.LogCaptureFixture):
    """Slack answers `channel_not_found` for one channel (deleted, or private without the bot) and a 503 for
    another. The first was tried about twenty times a day, each try a failure in the log and in /metrics: it is
    now tried once, said once, and held for the day; `/papers digest on` there (after re-inviting the bot)
    tries it again at once. The passing outage keeps its backoff: retried until it posts."""
    await ingest_samples(db)
    gone, down = await channels(db, "C1", "C2")
    async with db.session() as s:
        for key in (gone.key, down.key):
            row = await get_destination(s, key)
            assert row is not None
            row.digest_time, row.timezone, row.digest_days = "22:00", "UTC", "mon-sun"
    fake.hidden.add("C1")
    real_post = fake.routes[("POST", "/api/chat.postMessage")]
    assert callable(real_post)
    outage = {"on": True}

    def c2_down(rec: Any) -> Reply:
        return unavailable(503) if outage["on"] and rec.json().get("channel") == "C2" else real_post(rec)

    fake.route("POST", "/api/chat.postMessage", c2_down)
    clock = Clock()
    day = clock.now.date()
    core = make_bot(db).core
    runner = DigestRunner(core.services, {"slack": poster_for(db, fake, clock)}, owner="host:1",
                          settings=DigestSettings(lease_seconds=600), clock=clock)

    def posts_to(channel: str) -> int:
        return sum(1 for r in fake.calls("/api/chat.postMessage") if r.json().get("channel") == channel)

    with caplog.at_level(logging.INFO):
        outcomes = await ticks(runner, clock, clock.now + timedelta(hours=2), timedelta(minutes=1))
        outage["on"] = False
        outcomes += await ticks(runner, clock, clock.now + timedelta(hours=2), timedelta(minutes=1))
    c1 = [o for o in outcomes if o.destination == gone.key]
    c2 = [o for o in outcomes if o.destination == down.key]
    assert [o.status for o in c1] == ["failed"] and "channel_not_found" in c1[0].detail, c1
    assert posts_to("C1") == 1
    said = [r.getMessage() for r in caplog.records if gone.key in r.getMessage() and r.levelno >= logging.WARNING]
    assert len(said) == 1 and "channel_not_found" in said[0], said
    assert len(c2) >= 5 and c2[-1].status == "posted" and {o.status for o in c2[:-1]} == {"failed"}, c2
    assert len(fake.history["C2"]) == 1
    async with db.session() as s:
        held = await get_delivery(s, gone.key, day)
    assert held is not None and held.status == "failed" and held.attempts == 1
    assert "channel_not_found" in (held.last_error or "")

    # The bot is added to the channel again, and someone turns the digest on there: it is tried at once.
    fake.hidden.discard("C1")
    where = ChatContext(platform="slack", workspace=TEAM, channel="C1", user="U1")
    reply = await core.handle_command(where, "papers", "digest on")
    assert "Daily digest for this channel at 22:00" in (reply.message.text or ""), reply
    retried = await runner.run_due(clock.now)
    assert [(o.destination, o.status) for o in retried] == [(gone.key, "posted")]
    assert posts_to("C1") == 2 and len(fake.history["C1"]) == 1


def plain(body: bytes = b"ok") -> Reply:
    """HTTP 200 with a text/plain body where the Web API answers JSON (an edge or proxy answering for Slack)."""
    return Reply(200, body, {"Content-Type": "text/plain; charset=utf-8"})


async def test_a_web_api_answer_that_is_not_json_is_a_passing_failure_in_one_line(
        db: Database, fake: FakeSlack, caplog: pytest.LogCaptureFixture):
    """slack_sdk reads a text/plain answer as a string (it expects one only from file uploads) and then fails
    inside its own check with an AttributeError: the digest run crashed. It is a transient failure saying what
    Slack answered, in one line without a traceback, and the next try posts the digest."""
    await ingest_samples(db)
    (destination,) = await channels(db, "C1")
    real_post = fake.routes[("POST", "/api/chat.postMessage")]
    clock = Clock()
    poster = poster_for(db, fake, clock)
    fake.route("POST", "/api/chat.postMessage", plain())
    with caplog.at_level(logging.INFO):
        outcome = await run(db, poster, destination, clock)
    assert outcome.status == "failed" and "not JSON" in outcome.detail and "HTTP 200" in outcome.detail, outcome
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]
    async with db.session() as s:
        delivery = await get_delivery(s, destination.key, TODAY)
    assert delivery is not None and delivery.status == "failed"
    fake.route("POST", "/api/chat.postMessage", real_post)
    clock.now += timedelta(hours=1)
    assert (await run(db, poster, destination, clock)).status == "posted"
    assert len(fake.history["C1"]) == 1


async def test_a_command_meets_a_web_api_answer_that_is_not_json(db: Database, fake: FakeSlack,
                                                                 caplog: pytest.LogCaptureFixture):
    """Through bolt's dispatch: `/subscribe` asks conversations.info whether the bot is in the channel and gets
    text/plain; Slack cannot say, so the subscription goes ahead as when Slack is unreachable. `/papers today`
    whose chat.postMessage gets text/plain answers the asker with the short apology, and the log has one line
    for it, no traceback."""
    from tests.fakes.fake_slack import command_request
    from tests.test_slack_adapter import runtime_for
    from tests.waiting import wait_for

    await ingest_samples(db)
    runtime = runtime_for(make_bot(db).core, fake)
    fake.route("GET", "/api/conversations.info", plain())
    fake.route("POST", "/api/chat.postMessage", plain(b"upstream answered"))
    with caplog.at_level(logging.INFO):
        await runtime.app.async_dispatch(command_request("/subscribe", "robots", fake.response_url(1)))
        (answer,) = await wait_for(lambda: fake.responses(1))
        await runtime.app.async_dispatch(command_request("/papers", "today", fake.response_url(2)))
        (sorry,) = await wait_for(lambda: fake.responses(2))
    assert "robots" in answer["text"] and "Sorry" not in answer["text"]
    assert sorry["response_type"] == "ephemeral" and sorry["text"].startswith("Sorry")
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]
    said = [r.getMessage() for r in caplog.records if "chat.postMessage" in r.getMessage()]
    assert len(said) == 1 and "not JSON" in said[0] and "upstream answered" in said[0], said


# -- response_url: five answers in 30 minutes ------------------------------------------------------------------

LONG_WORD = "Hyperparameterizedgraphdiffusionmodelsarchitecture "


async def long_papers(db: Database) -> None:
    """Thirty papers of the day whose lists run long: titles near the renderer's cut, thirty authors each, and
    abstracts of long words (chemistry has such names), so ten of them fill three Slack messages."""
    from bot.papers import ParsedPaper
    from storage.paper_store import store_papers

    words = "graph neural networks for diffusion models with retrieval augmented generation and sparse transformers "
    papers = [ParsedPaper(title=f"{n} " + (words * 6)[:590], source="hf", arxiv_id=f"2604.{n:05d}",
                          abstract=("We study " + LONG_WORD * 33 + "graph neural networks. ") * 4,
                          authors=[f"Author {i} Longname" for i in range(30)], listed_on=TODAY,
                          published_on=TODAY, upvotes=n) for n in range(1, 31)]
    async with db.session() as s:
        await store_papers(s, papers)


async def asked_today(db: Database, fake: FakeSlack, channel: str, **kw: Any) -> tuple[Any, int]:
    """`/papers today` through bolt's dispatch in `channel`, which follows two topics, its asker two more."""
    from bot.commands.context import ChatContext
    from tests.fakes.fake_slack import command_request
    from tests.test_slack_adapter import runtime_for

    await long_papers(db)
    bot = make_bot(db)
    where = ChatContext("slack", TEAM, channel, "U1")
    await bot.core.handle_command(where, "subscribe", "graph neural networks, diffusion models")
    await bot.core.handle_command(where, "subscribe", "--me retrieval augmented generation, sparse transformers")
    runtime = runtime_for(bot.core, fake, **kw)
    await runtime.app.async_dispatch(command_request("/papers", "today", fake.response_url(1), channel=channel))
    return bot, len(fake.requests)


def listed(bodies: list[dict[str, Any]]) -> set[str]:
    """The papers (arXiv ids) the messages show."""
    import re

    return {m for body in bodies for b in body.get("blocks") or [] if b["type"] == "section"
            for m in re.findall(r"abs/(2604\.\d{5})", b["text"]["text"])}


async def test_a_long_answer_where_the_bot_is_not_a_member_says_what_slack_would_drop(db: Database,
                                                                                      fake: FakeSlack):
    """`/papers today` in a channel the bot is not in: its list (three messages) and the asker's "For you" list
    (three more) all went to the command's response_url, whose sixth answer Slack drops without a word. Now the
    answers stay within five, and the last says what could not be shown and how to get it."""
    from tests.waiting import wait_for

    fake.not_member.add("C5")
    await asked_today(db, fake, "C5")
    await wait_for(lambda: any("could not be shown" in str(r.get("text")) for r in fake.responses(1)), 30)
    assert len(fake.responses(1)) <= 5
    shown = fake.shown(1)
    note = shown[-1]
    assert note["response_type"] == "ephemeral" and "more part" in note["text"] and "/invite" in note["text"]
    assert len(listed(shown)) >= 10  # the channel's ten papers, and the asker's as far as they went


async def test_a_long_private_answer_goes_on_as_ephemeral_messages_where_the_bot_may_post(db: Database,
                                                                                          fake: FakeSlack):
    """Lists answered through response_url in a channel the bot is in (lists posted as messages turned off): what
    five answers cannot hold goes on through chat.postEphemeral, so the asker sees every paper."""
    from tests.waiting import wait_for

    await asked_today(db, fake, "C1", post_lists_as_messages=False)
    await wait_for(lambda: len(fake.responses(1)) + len(fake.ephemerals()) >= 6, 30)
    assert len(fake.responses(1)) <= 5 and fake.ephemerals()
    assert all(e["channel"] == "C1" and e["user"] == "U1" for e in fake.ephemerals())
    everything = listed(fake.shown(1)) | listed(fake.ephemerals())
    assert len(everything) >= 20 and not any("could not be shown" in str(r.get("text")) for r in fake.responses(1))


async def test_when_slack_refuses_the_rest_too_the_last_answer_says_to_ask_again(db: Database, fake: FakeSlack):
    """The same long answer in a channel the bot is in, while chat.postEphemeral is rate limited for minutes: the
    fifth answer says what is missing and to ask again (inviting the bot would not help: it is there)."""
    from tests.fakes.fake_slack import rate_limited
    from tests.waiting import wait_for

    fake.route("POST", "/api/chat.postEphemeral", rate_limited(600))
    await asked_today(db, fake, "C1", post_lists_as_messages=False)
    await wait_for(lambda: any("could not be shown" in str(r.get("text")) for r in fake.responses(1)), 30)
    assert len(fake.responses(1)) == 5
    note = fake.shown(1)[-1]["text"]
    assert "ask again" in note and "/invite" not in note
