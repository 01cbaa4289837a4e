"""Personal topics on Slack, through bolt's real dispatch and slack_sdk against the fake Slack: the ephemeral
"for you" part, personal digests by DM (conversations.open, then chat.postMessage), and mentions built only from
the stored ids of people who opted in."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from slack_sdk.models.blocks import Block

from adapters.slack.slack_runtime import SlackCredentials, SlackRuntime, build_slack_app
from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.papers import ParsedPaper
from storage.database import Database
from storage.delivery_store import get_delivery
from storage.paper_store import store_papers
from tests.chat_fixtures import make_bot
from tests.fakes.fake_slack import SIGNING_SECRET, TEAM, FakeSlack, command_request
from tests.personal_fixtures import DAY1, DIFFUSION, GNN, at, store_day
from tests.waiting import wait_for

CHANNEL = "C1"


async def _no_wait(_seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def runtime(db: Database, fake: FakeSlack) -> SlackRuntime:
    creds = SlackCredentials(bot_token=SecretStr("xoxb-test"), signing_secret=SecretStr(SIGNING_SECRET),
                             api_base_url=fake.api_url)
    return build_slack_app(make_bot(db, now=at(DAY1, 10)).core, creds, sleep=_no_wait)



async def command(rt: SlackRuntime, fake: FakeSlack, line: str, *, user: str, n: int, answers: int = 1) -> list[Any]:
    name, _, text = line.partition(" ")
    response = await rt.app.async_dispatch(command_request(name, text, fake.response_url(n), user=user))
    assert response.status == 200
    return list(await wait_for(lambda: len(fake.responses(n)) >= answers and fake.responses(n)))


def run_digests(db: Database, rt: SlackRuntime, hour: int = 9) -> DigestRunner:
    return DigestRunner(make_bot(db, now=at(DAY1, hour)).core.services, {"slack": rt.poster}, owner="proc-1",
                        settings=DigestSettings(lease_seconds=300))


async def test_papers_today_answers_the_channel_and_then_only_the_asker_with_their_own_matches(db, fake):
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    await command(rt, fake, f"/subscribe {DIFFUSION}", user="U9", n=1)
    (mine,) = await command(rt, fake, f"/subscribe --me {GNN}", user="U1", n=2)
    assert mine["response_type"] == "ephemeral"
    (private,) = await command(rt, fake, "/papers today", user="U1", n=3)
    (public,) = await wait_for(lambda: fake.posts())  # the channel's list: a message of its own, for its thread
    assert public["channel"] == "C1" and "Graph neural" not in public["text"]
    assert private["response_type"] == "ephemeral" and private["replace_original"] is False
    assert private["blocks"][0]["text"]["text"] == "For you"
    assert private["text"].count("Graph neural networks for molecules") == 3 and "why: graph neural networks" in \
        private["text"]
    for block in private["blocks"]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    await rt.app.async_dispatch(command_request("/papers", "today", fake.response_url(4), user="U2"))
    await wait_for(lambda: len(fake.posts()) == 2)  # no topics of their own: the channel's list only
    assert not fake.responses(4)


async def test_a_personal_digest_opens_the_dm_and_posts_there_once(db, fake):
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    await command(rt, fake, f"/subscribe --me {GNN}", user="U1", n=1)
    (answer,) = await command(rt, fake, "/papers digest --me 08:00 UTC", user="U1", n=2)
    assert answer["response_type"] == "ephemeral" and "direct message at 08:00 UTC" in answer["text"]
    outcomes = await run_digests(db, rt).run_due()
    assert [(o.destination, o.status) for o in outcomes] == [(f"slack:{TEAM}:@U1", "posted")]
    assert fake.opens() == ["U1"]
    (post,) = fake.posts()
    assert post["channel"] == "DU1" and post["text"].count("Graph neural networks for molecules") == 3
    assert "for you" in post["blocks"][0]["text"]["text"]
    again = await run_digests(db, rt, hour=10).run_due()
    assert again == [] and len(fake.posts()) == 1  # posted: not due again that day


async def test_a_departed_person_is_a_failure_with_backoff_and_the_others_still_get_theirs(db, fake):
    await store_day(db, DAY1)
    rt = runtime(db, fake)
    for n, user in enumerate(("U1", "UGONE")):
        await command(rt, fake, f"/subscribe --me {GNN}", user=user, n=1 + 2 * n)
        await command(rt, fake, "/papers digest --me 08:00 UTC", user=user, n=2 + 2 * n)
    fake.departed.add("UGONE")
    outcomes = {o.destination: o for o in await run_digests(db, rt).run_due()}
    assert outcomes[f"slack:{TEAM}:@U1"].status == "posted"
    gone = outcomes[f"slack:{TEAM}:@UGONE"]
    assert gone.status == "failed" and "user_disabled" in gone.detail
    async with db.session() as s:
        failed = await get_delivery(s, f"slack:{TEAM}:@UGONE", DAY1)
    assert failed is not None and failed.next_attempt_at is not None and "user_disabled" in (failed.last_error or "")
    assert [p["channel"] for p in fake.posts()] == ["DU1"]


def mentions_in(payload: dict[str, Any]) -> set[str]:
    texts = [payload["text"]] + [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    return {m for text in texts for m in re.findall(r"<@([A-Z0-9]+)>", text)}


async def test_channel_digest_mentions_only_opted_in_people_with_matching_topics(db, fake):
    await store_day(db, DAY1, diffusion=2)
    async with db.session() as s:  # a paper whose title tries to ping someone
        await store_papers(s, [ParsedPaper(title="Graph neural networks <@U03BOB> <!channel> survey",
                                           abstract="A survey of graph neural networks and graph neural network "
                                                    "benchmarks.", source="hf-api", arxiv_id="2604.20999",
                                           listed_on=DAY1, upvotes=2)])
    rt = runtime(db, fake)
    await command(rt, fake, f"/subscribe {GNN}", user="U9", n=1)
    await command(rt, fake, "/papers digest 09:00 UTC", user="U9", n=2)
    await command(rt, fake, f"/subscribe --me {GNN}", user="U02ADA", n=3)
    (on,) = await command(rt, fake, "/papers mention me on", user="U02ADA", n=4)
    assert on["response_type"] == "ephemeral" and "will mention you" in on["text"]
    await command(rt, fake, f"/subscribe --me {GNN}", user="U03BOB", n=5)  # same topic, never opted in
    await run_digests(db, rt).run_due()
    (post,) = fake.posts()
    assert post["channel"] == CHANNEL
    assert mentions_in(post) == {"U02ADA"}
    sections = [b["text"]["text"] for b in post["blocks"] if b["type"] == "section"]
    routed = [t for t in sections if "<@U02ADA>" in t]
    assert len(routed) == 4 and all(t.endswith("\n→ <@U02ADA>") for t in routed)
    assert "&lt;@U03BOB&gt; &lt;!channel&gt;" in post["text"]  # the title's own "mentions" stay inert text
    assert "→ <@U02ADA>" in post["text"]  # the notification names them too
