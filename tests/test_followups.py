"""Follow-ups in digest threads, with Hugging Face and arXiv played by a local fake server that serves a paper
first as v1 without code, then as v2 with a `githubRepo` and 40 more upvotes: through `paperboy` itself (console),
Slack's and Discord's fakes, on SQLite and PostgreSQL, with injected clocks (nothing really waits 3 s)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import discord
import pytest
from pydantic import SecretStr

from adapters.console.console_poster import ConsolePoster
from adapters.discord.discord_adapter import DiscordOptions, DiscordPoster
from adapters.discord.discord_adapter import make_client as make_discord_client
from adapters.slack.slack_poster import SlackPoster, make_web_client
from bot.clock import fixed_clock
from bot.destination import Destination as BotDestination
from bot.digests.digest_runner import DigestRunner
from bot.followups.changes import Snapshot, code_link, detect, pages_in, rising
from bot.followups.followup_message import PaperNews, render_followup
from bot.followups.followup_runner import FollowupRunner
from bot.followups.poster import ThreadTarget
from bot.ingestion.http_fetchers import ArxivFetcher, HttpFetcher, HuggingFaceFetcher, make_client
from bot.ingestion.ingest_service import Ingestor, Source
from bot.messages import CODE_HOSTS, Message, code_host_url
from bot.papers import ParsedPaper
from bot.scheduling import BotScheduler
from storage.database import Database
from storage.destination_models import Destination
from storage.destination_store import ensure_destination, record_posted
from storage.followup_store import set_followups
from storage.models import Paper
from storage.paper_store import store_papers
from tests.chat_fixtures import make_bot
from tests.cli_runner import paperboy
from tests.conftest import FIXTURES
from tests.digest_crash import ProcessDied
from tests.fakes import fake_discord as fd
from tests.fakes.fake_slack import TEAM, FakeSlack, slack_error
from tests.fakes.fake_time import FakeTime
from tests.fakes.http_server import FakeServer, Reply
from tests.followup_sources import ARXIV_ID, CODE, DAY_TEXT, PaperSources
from tests.test_summaries_cli import invoke, use_env
from tests.waiting import wait_for

DAY = date.fromisoformat(DAY_TEXT)  # a Friday
MONDAY = DAY + timedelta(days=3)  # the next digest day: follow-ups come on days after the digest
DESTINATION_SLACK = BotDestination("slack:T1:C1", "slack", TEAM, "C1")
DESTINATION_DISCORD = BotDestination(f"discord:{fd.GUILD_ID}:{fd.CHANNEL_ID}", "discord", str(fd.GUILD_ID),
                                     str(fd.CHANNEL_ID))
REPLY_MARK = "↳ in the thread of #"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


def replies(output: str) -> list[str]:
    """Each follow-up the console printed, as one text."""
    parts = re.split(r"(?m)^— #", output)
    return [p for p in parts if REPLY_MARK in p]


def assert_names_v2_code_and_rise(text: str) -> None:
    assert "New version v2 (was v1)" in text
    assert CODE in text
    assert "Rising: ▲10 → ▲50 upvotes" in text
    for ping in ("<!channel>", "@everyone", "<@U123>", "evil.example"):
        assert ping not in text


# -- pure rules ---------------------------------------------------------------------------------------------------


def test_only_known_code_hosts_count_and_links_are_rebuilt():
    assert code_link("Code: github.com/org/repo.git.") == "https://github.com/org/repo"
    assert code_link("see https://gitlab.com/team/tool/-/tree/main") == "https://gitlab.com/team/tool"
    assert code_link("weights at https://huggingface.co/datasets/org/data") == "https://huggingface.co/datasets/org/data"
    assert code_link("https://huggingface.co/papers/2602.23229") is None  # the paper's page, not code
    assert code_link("https://evil.example/github.com/org/repo") is None
    assert code_link("https://bit.ly/x or https://example.com/code") is None
    assert pages_in("Accepted at ICML 2026; 14 pages, 5 figures") == 14 and pages_in("camera ready") is None


def test_every_code_host_a_chat_links_is_one_a_new_version_can_announce():
    # One list of hosts: code found in a comment on any host the renderers link (Bitbucket and Codeberg were found
    # nowhere) is announced, and as the same address the renderers' rule accepts.
    for host in sorted(CODE_HOSTS):
        found = code_link(f"Code: https://www.{host}/team/repo.git.")
        assert found == f"https://{host}/team/repo", host
        assert code_host_url(found) == found
    assert code_link("https://codeberg.org/explore/repos") is None and code_link("bitbucket.org/account/x") is None


# -- the console, through `paperboy` ------------------------------------------------------------------------------


def test_console_digest_then_one_followup_then_nothing(server, db_env):
    sources = PaperSources(server)
    env = {**db_env, "PAPERBOY_HF_BASE_URL": server.url, "PAPERBOY_ARXIV_BASE_URL": server.url}
    ingest = paperboy("ingest", f"hf:{DAY_TEXT}", f"arxiv:{ARXIV_ID}", env=env)
    assert ingest.code == 0, ingest.err
    for channel in ("ml", "quiet"):
        assert paperboy("say", "/papers digest 09:00 UTC", "--channel", channel, env=env).code == 0
    off = paperboy("say", "/papers followups off", "--channel", "quiet", env=env)
    assert "Follow-ups are off" in off.out
    digest = paperboy("digest", "run", "--date", DAY_TEXT, env=env)
    assert digest.code == 0, digest.err
    assert digest.out.count("In-Context Classifiers") == 2  # both channels posted the paper
    sources.to_v2()

    first = paperboy("followups", "run", "--date", DAY_TEXT, env=env)
    assert first.code == 0, first.err
    posted = replies(first.out)
    assert len(posted) == 1, first.out
    assert posted[0].startswith("ml —") and f"{REPLY_MARK}1" in posted[0]
    assert_names_v2_code_and_rise(posted[0])
    assert "Accepted at ICML 2026" in posted[0] and "9 → 14 pages" in posted[0]
    lines = posted[0].splitlines()
    assert lines[3].strip().startswith("1. Large Multimodal Models as General In-Context Classifiers — ")  # as posted
    assert [line.strip()[:10] for line in lines[4:7]] == ["• New vers", "• Code rel", "• Rising: "]
    assert "refresh: done" in first.out

    again = paperboy("followups", "run", "--date", DAY_TEXT, env=env)
    assert again.code == 0, again.err
    assert replies(again.out) == [] and "posted" not in again.out
    assert "refresh: skipped (done today already" in again.out
    requests = len(server.requests)
    assert requests == 4  # ingest: HF + arXiv; the one refresh: HF + arXiv; the second run fetched nothing

    listed = paperboy("say", "/papers followups", "--channel", "ml", env=env)
    assert "New version v2" in listed.out and "Follow-ups are on here" in listed.out
    status = paperboy("followups", "status", env=env)
    # a refresh is "done", as `followups run` said: "posted" (its claim's state) read as if it posted something
    assert status.code == 0 and f"refresh: {DAY_TEXT} done" in status.out
    assert "console:local:ml thread 1" in status.out and "replied, 3 event(s)" in status.out


def test_two_concurrent_runs_on_postgresql_post_once(server, db_env, backend):
    if backend != "postgresql":
        pytest.skip("the race is about PostgreSQL's row locks; SQLite has one writer")
    sources = PaperSources(server)
    env = {**db_env, "PAPERBOY_HF_BASE_URL": server.url, "PAPERBOY_ARXIV_BASE_URL": server.url}
    assert paperboy("ingest", f"hf:{DAY_TEXT}", f"arxiv:{ARXIV_ID}", env=env).code == 0
    assert paperboy("say", "/papers digest 09:00 UTC", "--channel", "ml", env=env).code == 0
    assert paperboy("digest", "run", "--date", DAY_TEXT, env=env).code == 0
    sources.to_v2()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: paperboy("followups", "run", "--date", DAY_TEXT, env=env), range(2)))
    assert all(r.code == 0 for r in runs), [r.err for r in runs]
    posted = [p for r in runs for p in replies(r.out)]
    assert len(posted) == 1
    assert_names_v2_code_and_rise(posted[0])
    assert sorted(("refresh: done" in r.out, "refresh: skipped" in r.out) for r in runs) == [(False, True),
                                                                                           (True, False)]


# -- refresh etiquette ----------------------------------------------------------------------------------------------


@pytest.fixture
async def http() -> AsyncIterator[object]:
    async with make_client(timeout=5) as client:
        yield client


def ingestor_for(db: Database, server: FakeServer, client, time: FakeTime) -> Ingestor:
    return Ingestor(db, today=lambda: DAY,
                    hf=HuggingFaceFetcher(HttpFetcher(client, sleep=time.sleep), server.url),
                    arxiv=ArxivFetcher(HttpFetcher(client, min_interval=3.0, sleep=time.sleep, clock=time.clock),
                                       server.url))


async def test_refresh_batches_arxiv_ids_by_100_one_request_every_3_s_and_hf_for_the_last_week(db, server, http):
    empty = (FIXTURES / "arxiv_query_empty.xml").read_bytes()
    server.route("GET", "/api/query", Reply(body=empty, headers={"Content-Type": "application/atom+xml"}))
    server.route("GET", "/api/daily_papers", Reply(body=b"[]"))
    days = [DAY - timedelta(days=n) for n in range(15)]  # 15 listing days, 10 papers each
    papers = [ParsedPaper(title=f"Paper {d} {i}", abstract="We study things.", source="hf-api",
                          arxiv_id=f"2603.{d.day:02d}{i:03d}", listed_on=d, upvotes=i) for d in days for i in range(10)]
    async with db.session() as s:
        counts = await store_papers(s, papers)
        for d, start in zip(days, range(0, 150, 10), strict=True):
            await record_posted(s, "console:local:ml", f"{start + 1}", counts.paper_ids[start:start + 10],
                                kind="digest", digest_day=d)
    time = FakeTime()
    runner = FollowupRunner(db, ingestor_for(db, server, http, time), {}, owner="p1", clock=fixed_clock(at(DAY, 6)))
    report = await runner.run(day=DAY)
    assert report.refresh == "done" and report.baselined == 20  # the last two days; refresh does the rest
    calls = [c.query for c in server.calls("/api/query")]
    assert [len(c["id_list"][0].split(",")) for c in calls] == [100, 50]
    assert time.sleeps == [3.0]  # one request every 3 s, waited on the injected clock
    hf_days = sorted(c.query["date"][0] for c in server.calls("/api/daily_papers"))
    assert hf_days == sorted(d.isoformat() for d in days[:7])
    await runner.run(day=DAY)  # the day's refresh is done: no second round of requests
    assert len(server.requests) == 9


async def test_console_in_process_waits_for_the_channels_daytime(db, server, http):
    sources = PaperSources(server, v2_comment="Accepted at ICML 2026")
    time = FakeTime()
    ingestor = ingestor_for(db, server, http, time)
    await ingestor.ingest(Source("hf", DAY_TEXT))
    await ingestor.ingest(Source("arxiv", ARXIV_ID))
    bot = make_bot(db, channel="ml", now=at(DAY, 9))
    await bot.console.say("/papers digest 14:00 Europe/Paris")
    lines: list[str] = []
    poster = ConsolePoster(bot.core, write=lines.append)

    outcomes = await DigestRunner(bot.core.services, {"console": poster}, owner="p1").run_due(at(DAY, 13))
    assert [o.status for o in outcomes] == ["posted"]
    sources.to_v2()
    runner = FollowupRunner(db, ingestor, {"console": poster}, owner="p1", clock=fixed_clock(at(DAY + timedelta(3), 6)))
    monday = DAY + timedelta(days=3)
    early = await runner.run(at(monday, 6))  # 07:00 in Paris: before the channel's digest time
    assert early.refresh == "done" and [o.status for o in early.outcomes] == ["waiting"]
    assert len(lines) == 1
    later = await runner.run(at(monday, 13, 5))
    assert [o.status for o in later.outcomes] == ["posted"]
    assert len(lines) == 2 and REPLY_MARK in lines[-1] and "Code released" in lines[-1]
    assert [o.status for o in (await runner.run(at(monday, 15))).outcomes] == []
    assert len(lines) == 2


# -- Slack and Discord ------------------------------------------------------------------------------------------


async def digest_then_v2(db: Database, server: FakeServer, http, poster, platform: str, workspace: str,
                         channel: str, quiet: str) -> tuple[FollowupRunner, PaperSources]:
    """v1 ingested from the fake sources, the day's digest posted through `poster` to `channel` and to `quiet`
    (whose follow-ups are off), the sources moved to v2, and a follow-up runner for that platform."""
    sources = PaperSources(server)
    time = FakeTime()
    ingestor = ingestor_for(db, server, http, time)
    await ingestor.ingest(Source("hf", DAY_TEXT))
    await ingestor.ingest(Source("arxiv", ARXIV_ID))
    async with db.session() as s:
        destinations = [await ensure_destination(s, platform, workspace, c, "papers") for c in (channel, quiet)]
    bot = make_bot(db, now=at(DAY, 9))
    for destination in destinations:
        outcome = await DigestRunner(bot.core.services, {platform: poster}, owner="p1").run_one(destination, DAY,
                                                                                                now=at(DAY, 9))
        assert outcome.status == "posted", outcome
    await set_followups(db, destinations[1].key, False, at(DAY, 10))
    sources.to_v2()
    runner = FollowupRunner(db, ingestor, {platform: poster}, owner="p1", clock=fixed_clock(at(MONDAY, 12)))
    return runner, sources


async def test_slack_digest_thread_gets_one_reply_with_thread_ts(db, server, http):
    with FakeSlack() as slack:
        time = FakeTime()
        poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=slack.api_url), sleep=time.sleep,
                             clock=time.clock)
        runner, _ = await digest_then_v2(db, server, http, poster, "slack", TEAM, "C1", "C2")
        digest_ts = slack.history["C1"][0]["ts"]
        report = await runner.run(at(MONDAY, 12))
        assert sorted(o.status for o in report.outcomes) == ["off", "posted"]
        replies_sent = [p for p in slack.posts() if p.get("thread_ts")]
        assert len(replies_sent) == 1 and len(slack.posts()) == 3  # two digests, one follow-up
        reply = replies_sent[0]
        assert reply["thread_ts"] == digest_ts and reply["channel"] == "C1"
        assert reply["metadata"]["event_type"] == "paperboy_followup"
        shown = reply["text"] + str(reply["blocks"])
        assert_names_v2_code_and_rise(shown)
        # The code is a link readers can click (it was escaped text), labelled with its address.
        (section,) = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]
        assert f"Code released: <{CODE}|{CODE.removeprefix('https://')}>" in section
        assert " — <https://arxiv.org/abs/2602.23229|arxiv.org/abs/2602.23229>\n" in section  # and the paper's page
        assert "<!" not in shown and "<@" not in shown
        assert [o.status for o in (await runner.run(at(MONDAY, 13))).outcomes] == ["off"]  # C1 was told already
        assert len(slack.posts()) == 3



# Stored code URLs no chat may turn into a link (an event stored before the rules, or an API that changed): each is
# shown as text. Then ones that are links, normalised.
NOT_LINKS = ["https://github.com@evil.example/org/repo", "https://user:pw@github.com/org/repo",
             "http://github.com/org/repo", "https://github.com:8443/org/repo", "https://evil.example/github.com/o/r",
             "https://github.com.evil.example/o/r", "https://github.com/o/r|click", "https://github.com/o/<r>",
             "https://github.com/o/r%3E", "javascript://github.com/%0aalert(1)", "https://github.com/o/r x",
             "https://github.com/<!channel>", "https://github.com/o/r\u202e/gpj.exe", "https://github.com"]
LINKS = {"https://GitHub.com/org/repo/": "https://github.com/org/repo",
         "https://www.gitlab.com/group/sub/tool?tab=readme#top": "https://gitlab.com/group/sub/tool",
         "https://huggingface.co/datasets/org/data": "https://huggingface.co/datasets/org/data",
         "https://codeberg.org/a/b": "https://codeberg.org/a/b", "https://bitbucket.org/a/b_c": "https://bitbucket.org/a/b_c"}


def code_news(urls: list[str]) -> Message:
    return render_followup([PaperNews(number=n, title=f"Paper {n}", arxiv_id=None, events=[("code", {"url": url})])
                            for n, url in enumerate(urls, start=1)])


def test_only_a_plain_https_link_on_a_code_host_is_a_link_and_it_is_normalised():
    for url in NOT_LINKS:
        assert code_host_url(url) is None, url
    for url, normal in LINKS.items():
        assert code_host_url(url) == normal, url


async def _slack_sections(message: Message) -> str:
    """A follow-up posted through the real Slack poster: the text of its sections. (FakeSlack checks on leaving
    that nothing else it was sent could ping anyone or link anywhere.)"""
    target = ThreadTarget(message_ref="1700000000.000100", thread_ref=None, claim_key="k", day=DAY)
    with FakeSlack() as slack:
        poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=slack.api_url), sleep=FakeTime().sleep)
        await poster.post_followup(DESTINATION_SLACK, target, message)
        return "\n".join(b["text"]["text"] for p in slack.posts() for b in p["blocks"] if b["type"] == "section")


async def _discord_descriptions(monkeypatch, message: Message) -> str:
    """A follow-up posted through the real Discord poster: its embeds' descriptions (nothing could ping anyone)."""
    target = ThreadTarget(message_ref=str(fd.FIRST_ID), thread_ref=str(fd.CHANNEL_ID), claim_key="k", day=DAY)
    with fd.FakeDiscord() as api:
        monkeypatch.setattr(discord.http.Route, "BASE", api.url + fd.API)
        client = make_discord_client(DiscordOptions(post_interval=0))
        await client.login("fake-token")
        try:
            await DiscordPoster(client, interval=0).post_followup(DESTINATION_DISCORD, target, message)
        finally:
            await client.close()
        assert not api.ping_problems()
        return "\n".join(e.get("description", "") for body in api.sends() for e in body["embeds"])


async def test_released_code_is_a_link_on_slack_only_when_it_is_a_code_hosts_page(db):
    sections = await _slack_sections(code_news([*NOT_LINKS, *LINKS]))
    links = re.findall(r"<([^<>]*)>", sections)
    assert sorted(links) == sorted(f"{url}|{url.removeprefix('https://')}" for url in LINKS.values())
    assert "github.com@evil.example/org/repo" in sections and "&lt;!channel&gt;" in sections  # shown as text


async def test_released_code_is_a_link_on_discord_only_when_it_is_a_code_hosts_page(db, monkeypatch):
    descriptions = await _discord_descriptions(monkeypatch, code_news([*NOT_LINKS, *LINKS]))
    assert sorted(re.findall(r"<(https://[^<>]*)>", descriptions)) == sorted(LINKS.values())
    # Every other URL is escaped text ("https\\://…"): no masked link, no autolink, no bare URL.
    assert "](" not in descriptions and len(re.findall(r"(?<!\\)://", descriptions)) == len(LINKS)
    assert "github\\.com\\@evil\\.example" in descriptions


# Paper lines in a follow-up: each links its arXiv page, built from the stored id. An id no arXiv id looks like (a
# row stored before the checks) gives no link: its line shows the address as text.
PAPER_IDS = ["2604.00001", "hep-th/9901001", "2604.00003v2"]
BAD_IDS = ["2604.00004)[x](https://evil.example", "2604.00005|<!channel>", "@evil.example/2604.00006", "x y"]


def paper_news() -> Message:
    return render_followup([PaperNews(number=n, title=f"Paper {n}", arxiv_id=arxiv_id,
                                      events=[("rising", {"from": 1, "to": 40})])
                            for n, arxiv_id in enumerate([*PAPER_IDS, *BAD_IDS], start=1)])


async def test_a_followups_paper_lines_link_their_arxiv_pages_on_slack(db):
    sections = await _slack_sections(paper_news())
    links = re.findall(r"<([^<>]*)>", sections)
    assert sorted(links) == sorted(f"https://arxiv.org/abs/{i}|arxiv.org/abs/{i}" for i in PAPER_IDS)
    assert "1. Paper 1 — <https://arxiv.org/abs/2604.00001|arxiv.org/abs/2604.00001>" in sections
    assert "evil.example" in sections and "&lt;!channel&gt;" in sections  # the bad ids: text


async def test_a_followups_paper_lines_link_their_arxiv_pages_on_discord(db, monkeypatch):
    descriptions = await _discord_descriptions(monkeypatch, paper_news())
    assert sorted(re.findall(r"<(https://[^<>]*)>", descriptions)) == sorted(
        f"https://arxiv.org/abs/{i}" for i in PAPER_IDS)
    assert "1\\. Paper 1 — <https://arxiv.org/abs/2604.00001>" in descriptions
    assert "](" not in descriptions and len(re.findall(r"(?<!\\)://", descriptions)) == len(PAPER_IDS)


async def test_slack_failure_is_retried_with_backoff_and_told_once(db, server, http):
    with FakeSlack() as slack:
        time = FakeTime()
        poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=slack.api_url), sleep=time.sleep,
                             clock=time.clock)
        runner, _ = await digest_then_v2(db, server, http, poster, "slack", TEAM, "C1", "C2")
        working = slack.routes[("POST", "/api/chat.postMessage")]
        slack.route("POST", "/api/chat.postMessage", slack_error("internal_error"))
        failed = await runner.run(at(MONDAY, 12))
        assert sorted(o.status for o in failed.outcomes) == ["failed", "off"]
        assert sorted(o.status for o in (await runner.run(at(MONDAY, 12, 0))).outcomes) == ["off", "skipped"]
        slack.route("POST", "/api/chat.postMessage", working)
        retried = await runner.run(at(MONDAY, 12, 2))  # after the first backoff (1 minute)
        assert sorted(o.status for o in retried.outcomes) == ["off", "posted"]
        assert len([p for p in slack.posts() if p.get("thread_ts")]) == 2  # the failed attempt, then the reply


async def test_a_followup_refused_for_good_is_tried_once_that_day_not_every_few_minutes(db, server, http):
    """A thread whose channel is archived (or the bot removed from it) got the transient backoff: its follow-up
    was tried again every few minutes all day, each try failing the same way and logging the same warning.
    It is tried once that day, like a digest that failed for good."""
    with FakeSlack() as slack:
        time = FakeTime()
        poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=slack.api_url), sleep=time.sleep,
                             clock=time.clock)
        runner, _ = await digest_then_v2(db, server, http, poster, "slack", TEAM, "C1", "C2")
        slack.route("POST", "/api/chat.postMessage", slack_error("is_archived"))
        statuses = []
        for minutes in range(0, 11 * 60, 7):  # from noon to the end of the day, a run every 7 minutes
            report = await runner.run(at(MONDAY, 12) + timedelta(minutes=minutes))
            statuses += [o.status for o in report.outcomes if o.status != "off"]
        assert statuses[0] == "failed" and set(statuses[1:]) <= {"skipped", "waiting"}, statuses
        assert len([p for p in slack.posts() if p.get("thread_ts")]) == 1  # the one refused attempt


async def test_discord_reply_goes_into_the_digests_thread(db, server, http, monkeypatch):
    with fd.FakeDiscord() as api:
        monkeypatch.setattr(discord.http.Route, "BASE", api.url + fd.API)
        client = make_discord_client(DiscordOptions(post_interval=0))
        await client.login("fake-token")
        try:
            poster = DiscordPoster(client, interval=0)
            runner, _ = await digest_then_v2(db, server, http, poster, "discord", str(fd.GUILD_ID),
                                             str(fd.CHANNEL_ID), str(fd.CHANNEL_ID + 1))
            thread_id = int(api.of(fd.THREAD)[0].path.split("/")[-2])
            before = len(api.of(fd.MESSAGE))
            report = await runner.run(at(MONDAY, 12))
            assert sorted(o.status for o in report.outcomes) == ["off", "posted"]
            sent = api.of(fd.MESSAGE)[before:]
            assert len(sent) == 1 and sent[0].path == f"{fd.API}/channels/{thread_id}/messages"
            body = sent[0].json()
            assert body["allowed_mentions"] == {"parse": []} and body.get("enforce_nonce") is True
            shown = str(body["embeds"])
            assert_names_v2_code_and_rise(shown.replace("\\\\", "").replace("\\", ""))
            # The code and the paper's page are links readers can click (they were escaped text: "https\\://…");
            # nothing else is one.
            (description,) = [e["description"] for e in body["embeds"] if e.get("description")]
            assert f"Code released\\: <{CODE}>" in description
            assert " — <https://arxiv.org/abs/2602.23229>\n" in description
            assert description.count("<https://") == 2 and "](" not in description
            assert [o.status for o in (await runner.run(at(MONDAY, 13))).outcomes] == ["off"]
            assert len(api.of(fd.MESSAGE)) == before + 1
        finally:
            await client.close()


async def test_the_scheduler_runs_followups_in_their_own_job_and_survives_their_failures(db):
    calls: list[int] = []

    async def failing() -> None:
        calls.append(1)
        raise RuntimeError("a source is down")

    runner = DigestRunner(make_bot(db).core.services, {}, owner="p1")
    scheduler = BotScheduler(runner, fixed_clock(at(DAY, 9)), followups=failing, tick=timedelta(minutes=1))
    scheduler.start()
    try:
        # The scheduler's own first digest tick runs at once: let it finish. Racing it with the tick below, then
        # shutting down, cancelled it inside a SQLite transaction, and the database's disposal then waited for
        # ever (a worker killed by the per-test timeout in CI).
        await wait_for(lambda: scheduler.checked_once)
        job = scheduler.scheduler.get_job("followups")
        assert job is not None and job.id != "digests" and job.max_instances == 1
        await scheduler.followups_tick()  # logged, not raised: the digests' job is untouched
        await scheduler.tick()
        assert calls == [1] and scheduler.last_tick == at(DAY, 9)
    finally:
        scheduler.shutdown(wait=False)


def test_v1_after_a_listing_without_a_version_is_not_news_and_v2_is():
    listed = Snapshot(version=None, title="T", abstract_chars=100, comment=None, pages=None, code_url=None,
                      upvotes=5)
    v1 = Snapshot(version=1, title="T", abstract_chars=100, comment="9 pages", pages=9, code_url=None, upvotes=5)
    assert detect(listed, v1, "abstract") == []
    v2 = Snapshot(version=2, title="T", abstract_chars=120, comment="see github.com/a/b; 10 pages", pages=10,
                  code_url=None, upvotes=25)  # 5× and exactly 20 more
    events = detect(v1, v2, "abstract")
    assert [(e.kind, e.key) for e in events] == [("version", "version:2"), ("code", "code"), ("rising", "rising")]
    assert events[0].detail["pages"] == [9, 10] and "title" not in events[0].detail
    assert events[1].detail == {"url": "https://github.com/a/b"}
    assert rising(v1, replace(v1, upvotes=24)) is None  # 19 more: not yet
    assert rising(v1, replace(v1, day_rank=2)) == {"from": 5, "to": 5, "rank": 2}  # entered the day's top 3


class DiesAfterReplying:
    """Replies through the real poster, then the process "dies" before the runner records the reply."""

    def __init__(self, poster) -> None:
        self.poster = poster
        self.posted: list[str] = []

    async def post_followup(self, destination, target, message) -> str:
        self.posted.append(await self.poster.post_followup(destination, target, message))
        raise ProcessDied

    async def find_followup(self, destination, target) -> str | None:
        return await self.poster.find_followup(destination, target)


@pytest.mark.parametrize("platform", ["console", "slack", "discord"])
async def test_a_reply_posted_by_a_process_that_died_before_recording_it_is_found_not_posted_again(
        db, server, http, monkeypatch, platform):
    async with contextlib.AsyncExitStack() as stack:
        if platform == "console":
            lines: list[str] = []
            poster = ConsolePoster(make_bot(db).core, write=lines.append)
            workspace, channel, quiet = "local", "ml", "quiet"

            def replies_posted() -> int:
                return sum(REPLY_MARK in line for line in lines)
        elif platform == "slack":
            slack = stack.enter_context(FakeSlack())
            time = FakeTime()
            poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=slack.api_url), sleep=time.sleep,
                                 clock=time.clock)
            workspace, channel, quiet = TEAM, "C1", "C2"

            def replies_posted() -> int:
                return len([p for p in slack.posts() if p.get("thread_ts")])
        else:
            api = stack.enter_context(fd.FakeDiscord())
            monkeypatch.setattr(discord.http.Route, "BASE", api.url + fd.API)
            client = make_discord_client(DiscordOptions(post_interval=0))
            await client.login("fake-token")
            stack.push_async_callback(client.close)
            poster = DiscordPoster(client, interval=0)
            workspace, channel, quiet = str(fd.GUILD_ID), str(fd.CHANNEL_ID), str(fd.CHANNEL_ID + 1)
            digests = 2

            def replies_posted() -> int:
                return len(api.of(fd.MESSAGE)) - digests

        runner, _ = await digest_then_v2(db, server, http, poster, platform, workspace, channel, quiet)
        dying = DiesAfterReplying(poster)
        dead = FollowupRunner(db, runner.ingestor, {platform: dying}, owner="dead-host:1:0",
                              clock=fixed_clock(at(MONDAY, 12)))
        with pytest.raises(ProcessDied):
            await dead.run(at(MONDAY, 12))
        assert len(dying.posted) == 1 and replies_posted() == 1
        heir = FollowupRunner(db, runner.ingestor, {platform: poster}, owner="heir-host:2:1",
                              clock=fixed_clock(at(MONDAY, 12, 11)))
        assert [o.status for o in (await heir.run(at(MONDAY, 12, 5))).outcomes if o.status != "off"] == ["skipped"]
        taken = await heir.run(at(MONDAY, 12, 11))  # the dead owner's lease (10 minutes) has run out
        assert [(o.status, o.detail) for o in taken.outcomes if o.status != "off"] == [("posted", dying.posted[0])]
        assert replies_posted() == 1  # found on the platform, recorded, not posted again
        assert [o.status for o in (await heir.run(at(MONDAY, 13))).outcomes] == ["off"]
        assert replies_posted() == 1


async def test_a_paper_without_upvotes_is_not_rising_when_its_place_of_the_day_moves_up(db):
    """Papers nobody upvoted are placed by id among their day's: when an earlier one moved to the day Hugging
    Face listed it, the fourth became third and the thread heard "Rising: ▲0 → ▲0 upvotes, now #3 of its day"."""
    papers = [ParsedPaper(title=f"Paper {i}", abstract="We study things.", source="arxiv",
                          arxiv_id=f"2603.0000{i}", version=1, published_on=DAY) for i in range(1, 5)]
    async with db.session() as s:
        counts = await store_papers(s, papers)
        await record_posted(s, "console:local:ml", "1", counts.paper_ids, kind="digest", digest_day=DAY)
    runner = FollowupRunner(db, None, {}, owner="p1", clock=fixed_clock(at(DAY, 10)))
    assert await runner.take_baselines(DAY, DAY) == 4
    async with db.session() as s:  # Hugging Face lists the first paper two days later, still without a vote
        await store_papers(s, [replace(papers[0], source="hf-api", listed_on=MONDAY, upvotes=0)])
    report = await runner.run(day=MONDAY)
    assert report.refresh == "done" and report.events == []
    assert rising(Snapshot(version=1, title="T", abstract_chars=9, comment=None, pages=None, code_url=None,
                           upvotes=None, day_rank=None),
                  Snapshot(version=1, title="T", abstract_chars=9, comment=None, pages=None, code_url=None,
                           upvotes=0, day_rank=1)) is None


async def test_news_of_a_paper_no_longer_stored_posts_no_empty_reply(db):
    """An event waiting for its thread whose paper was then deleted from the store: the thread got a reply with
    the follow-up header and nothing under it."""
    paper = ParsedPaper(title="Paper A", abstract="We study things.", source="arxiv", arxiv_id="2603.00001",
                        version=1, published_on=DAY)
    bot = make_bot(db, channel="ml", now=at(DAY, 9))
    await bot.console.say("/papers digest 09:00 UTC")
    async with db.session() as s:
        (pid,) = (await store_papers(s, [paper])).paper_ids
        await record_posted(s, "console:local:ml", "1", [pid], kind="digest", digest_day=DAY)
    lines: list[str] = []
    runner = FollowupRunner(db, None, {"console": ConsolePoster(bot.core, write=lines.append)}, owner="p1",
                            clock=fixed_clock(at(MONDAY, 10)))
    await runner.take_baselines(DAY, DAY)
    async with db.session() as s:
        await store_papers(s, [replace(paper, version=2, abstract="We study more things.")])
    await set_followups(db, "console:local:ml", False, at(MONDAY, 9))
    assert (await runner.run(day=MONDAY)).events == ["2603.00001 version:2"]
    async with db.session() as s:
        await s.delete(await s.get(Paper, pid))
    await set_followups(db, "console:local:ml", True, at(MONDAY, 10))
    report = await runner.run(day=MONDAY)
    assert [o.status for o in report.outcomes] == [] and lines == []
    assert (await runner.run(day=MONDAY + timedelta(days=1))).outcomes == []


def test_followups_run_refuses_days_it_cannot_mean(tmp_path, monkeypatch):
    """`--date 0001-01-01` ended in an OverflowError traceback; a day in the future (a typo for last year) took
    that day's refresh, so the real run on that day found it done and fetched nothing."""
    use_env(monkeypatch, {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"})
    later = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    for day in ("0001-01-01", "1990-12-31", later, "9999-12-31"):
        result = invoke("followups", "run", "--date", day)
        assert (result.code, result.out) == (2, ""), result.out
        assert result.err == f"error: no follow-ups for {day}: use a day from 1991-01-01 to today\n"
    assert "refresh: never" in invoke("followups", "status").out
    assert invoke("followups", "run", "--date", DAY_TEXT).code == 0


async def test_a_code_link_in_the_abstract_as_posted_is_no_news_at_the_next_version(db):
    """"Code is available at github.com/…" in the abstract readers saw was announced as "Code released" when the
    paper's v2 came out, the link unchanged."""
    abstract = "We propose a thing. Code is available at https://github.com/org/thing."
    paper = ParsedPaper(title="A Thing", abstract=abstract, source="arxiv", arxiv_id="2603.00001", version=1,
                        published_on=DAY)
    fresh = ParsedPaper(title="Another Thing", abstract="We propose another thing.", source="arxiv",
                        arxiv_id="2603.00002", version=1, published_on=DAY)
    async with db.session() as s:
        ids = (await store_papers(s, [paper, fresh])).paper_ids
        await record_posted(s, "console:local:ml", "1", ids, kind="digest", digest_day=DAY)
    runner = FollowupRunner(db, None, {}, owner="p1", clock=fixed_clock(at(MONDAY, 10)))
    await runner.take_baselines(DAY, DAY)
    async with db.session() as s:
        await store_papers(s, [replace(paper, version=2, abstract=abstract + " We add a baseline."),
                               replace(fresh, version=2, abstract="We propose another thing. Code: github.com/o/t")])
    report = await runner.run(day=MONDAY)
    assert sorted(report.events) == ["2603.00001 version:2", "2603.00002 code", "2603.00002 version:2"]


async def test_a_channel_whose_digest_comes_at_2359_still_has_a_moment_for_follow_ups(db):
    """Its daytime ran from 23:59 until 23:59: follow-ups waited for ever."""
    runner = FollowupRunner(db, None, {}, owner="p1", clock=fixed_clock(at(MONDAY, 9)))

    def channel(digest_time: str) -> Destination:
        return Destination(key=f"console:local:{digest_time}", platform="console", workspace="local",
                           channel=digest_time, timezone="UTC", digest_time=digest_time, digest_days="mon-fri")

    assert runner.local_day(channel("23:59"), at(MONDAY, 23, 59) + timedelta(seconds=30)) == MONDAY
    assert runner.local_day(channel("23:59"), at(MONDAY, 23, 58)) is None
    assert runner.local_day(channel("22:00"), at(MONDAY, 23, 30)) == MONDAY
    assert runner.local_day(channel("22:00"), at(MONDAY, 21, 59)) is None
    assert runner.local_day(channel("09:00"), at(MONDAY, 21, 0)) is None  # the evening ends the others' daytime
