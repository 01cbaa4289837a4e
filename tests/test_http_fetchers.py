"""Fetchers against a real HTTP server on 127.0.0.1 serving the recorded payloads; no real sleeping."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.errors import FetchError
from bot.ingestion.http_fetchers import USER_AGENT, ArxivFetcher, HttpFetcher, HuggingFaceFetcher, make_client
from tests.cli_runner import paperboy
from tests.conftest import FIXTURES
from tests.fakes.fake_time import FakeTime
from tests.fakes.http_server import FakeServer, Reply

HF_2024 = (FIXTURES / "hf_daily_papers_sample_2024-10.json").read_bytes()
ARXIV = (FIXTURES / "arxiv_query_sample.xml").read_bytes()


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


@pytest.fixture
async def client():
    async with make_client(timeout=2) as c:
        yield c


async def test_hf_daily_fetches_every_page(server, client):
    items = json.loads(HF_2024)
    pages = [Reply(body=json.dumps(items[:2]).encode()), Reply(body=json.dumps(items[2:]).encode())]
    server.route("GET", "/api/daily_papers", pages)
    time = FakeTime()
    fetcher = HuggingFaceFetcher(HttpFetcher(client, sleep=time.sleep), server.url, page_size=2)
    from datetime import date

    docs = await fetcher.daily(date(2024, 10, 25))
    assert len(docs) == 2
    calls = server.calls("/api/daily_papers")
    assert [c.query["p"] for c in calls] == [["0"], ["1"]]
    assert calls[0].query["date"] == ["2024-10-25"]
    assert calls[0].headers["User-Agent"] == USER_AGENT
    assert all(d.listed_on == date(2024, 10, 25) for d in docs)


async def test_429_retry_after_is_honoured_then_succeeds(server, client):
    server.route("GET", "/api/daily_papers", [
        Reply(429, b"{}", {"Retry-After": "7"}), Reply(503, b"{}"), Reply(body=HF_2024)])
    time = FakeTime()
    http = HttpFetcher(client, sleep=time.sleep, backoff=0.5)
    assert await http.get(f"{server.url}/api/daily_papers", {"date": "2024-10-25"}) == HF_2024
    assert time.sleeps == [7.0, 1.0]  # Retry-After, then exponential backoff (0.5 * 2)


async def test_persistent_5xx_is_one_clear_error(server, client):
    server.route("GET", "/api/query", Reply(500, b"oops"))
    time = FakeTime()
    http = HttpFetcher(client, sleep=time.sleep, attempts=3)
    with pytest.raises(FetchError, match=r"kept failing \(HTTP 500\) after 3 attempts"):
        await http.get(f"{server.url}/api/query", {})
    assert len(server.calls("/api/query")) == 3


async def test_404_is_not_retried(server, client):
    http = HttpFetcher(client, sleep=FakeTime().sleep)
    with pytest.raises(FetchError, match="HTTP 404"):
        await http.get(f"{server.url}/nowhere", {})
    assert len(server.requests) == 1


async def test_a_refusal_says_the_reason_the_server_gave(server, client):
    server.route("GET", "/api/daily_papers", Reply(400, json.dumps(
        {"error": "Invalid date:\n\x1b[31m 2099-01-01 is in the future"}).encode()))
    http = HttpFetcher(client, sleep=FakeTime().sleep)
    with pytest.raises(FetchError, match=r"answered HTTP 400 for http://127\.0\.0\.1:\d+/api/daily_papers: "
                                         r"Invalid date: \[31m 2099-01-01 is in the future$"):
        await http.get(f"{server.url}/api/daily_papers", {"date": "2099-01-01"})


async def test_unreachable_network_is_one_line(client):
    time = FakeTime()
    http = HttpFetcher(client, sleep=time.sleep, attempts=2)
    with pytest.raises(FetchError, match=r"^cannot reach 127\.0\.0\.1:9: network unreachable"):
        await http.get("http://127.0.0.1:9/api/daily_papers", {})


async def test_arxiv_waits_three_seconds_between_requests(server, client):
    server.route("GET", "/api/query", Reply(body=ARXIV, headers={"Content-Type": "application/atom+xml"}))
    time = FakeTime()
    fetcher = ArxivFetcher(HttpFetcher(client, min_interval=3.0, sleep=time.sleep, clock=time.clock),
                           server.url, page_size=10)
    docs = await fetcher.query("all:electron AND all:proton", max_results=30)
    assert len(docs) == 3
    assert time.sleeps == [3.0, 3.0]
    starts = [c.query["start"] for c in server.calls("/api/query")]
    assert starts == [["0"], ["10"], ["20"]]
    assert server.calls("/api/query")[0].query["search_query"] == ["all:electron AND all:proton"]


@pytest.mark.parametrize("status", [200, 400])
async def test_arxiv_error_is_its_reason_not_a_bare_status(server, client, status):
    """arXiv sends its error feed with HTTP 400: the user saw 'export.arxiv.org answered HTTP 400 for …/api/query'
    and not why."""
    server.route("GET", "/api/query", Reply(status, (FIXTURES / "arxiv_error_feed.xml").read_bytes()))
    fetcher = ArxivFetcher(HttpFetcher(client, sleep=FakeTime().sleep), server.url)
    if status == 400:
        with pytest.raises(FetchError, match=r"^arxiv:1234\.12345: arXiv reported an error: incorrect id format "
                                             r"for 1234\.12345$"):
            await fetcher.by_ids(["1234.12345"])
        with pytest.raises(FetchError, match=r"^arxiv:ti:\( \(results 1-100\): arXiv reported an error: incorrect"):
            await fetcher.query("ti:(")
    else:
        (doc,) = await fetcher.by_ids(["1234.12345"])  # the parser reports it (test_cli_ingests_hf_and_arxiv…)
        assert doc.where == "arxiv:1234.12345"
    server.route("GET", "/api/query", Reply(400, b"<html><body>Bad Request</body></html>"))
    with pytest.raises(FetchError, match=r"answered HTTP 400 for http://127\.0\.0\.1:\d+/api/query$"):
        await fetcher.by_ids(["1234.12345"])


async def test_an_html_page_served_for_the_api_is_no_advice_to_use_the_api(server, client, db):
    """A proxy's login or a maintenance page answered with 200 told a user who ran hf:DATE to "use hf:DATE"."""
    from datetime import date

    from bot.errors import ParseError
    from bot.ingestion.ingest_service import Ingestor, parse_source
    from storage.paper_store import count_papers

    page = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"
    server.route("GET", "/api/daily_papers", Reply(body=page))
    ingestor = Ingestor(db, today=lambda: date(2024, 10, 25),
                        hf=HuggingFaceFetcher(HttpFetcher(client, sleep=FakeTime().sleep), server.url))
    with pytest.raises(ParseError, match=r"^hf:2024-10-25 page 1: the server sent an HTML page, not a listing$"):
        await ingestor.ingest(parse_source("hf:2024-10-25"))
    async with db.session() as session:
        assert await count_papers(session) == 0


async def test_hanging_server_times_out(server):
    server.route("GET", "/slow", Reply(body=b"[]", delay=5))
    async with httpx.AsyncClient(timeout=0.2) as quick:
        http = HttpFetcher(quick, sleep=FakeTime().sleep, attempts=2)
        with pytest.raises(FetchError, match="did not answer in time"):
            await http.get(f"{server.url}/slow", {})


def test_cli_ingests_hf_and_arxiv_from_the_fake_servers(server, db_env):
    server.route("GET", "/api/daily_papers", Reply(body=HF_2024))
    server.route("GET", "/api/query", [
        Reply(body=(FIXTURES / "arxiv_query_idlist_partial.xml").read_bytes()),
        Reply(400, (FIXTURES / "arxiv_error_feed.xml").read_bytes()),  # as arXiv answers an id it cannot take
    ])
    env = {**db_env, "PAPERBOY_HF_BASE_URL": server.url, "PAPERBOY_ARXIV_BASE_URL": server.url}
    result = paperboy("ingest", "hf:2024-10-25", "arxiv:2201.13452,2201.13455", env=env)
    assert result.code == 0, result.err
    assert result.out.strip().endswith("4 papers: 4 new, 0 updated, 0 unchanged")
    assert server.calls("/api/query")[0].query["id_list"] == ["2201.13452,2201.13455"]
    failing = paperboy("ingest", "arxiv:1234.12345", env=env)
    assert failing.code == 2
    assert failing.err.strip() == ("error: arxiv:1234.12345: arXiv reported an error: incorrect id format for "
                                   "1234.12345")
    down = paperboy("ingest", "hf:today", env={**db_env, "PAPERBOY_HF_BASE_URL": "http://127.0.0.1:9"})
    assert down.code == 2 and down.err.startswith("error: cannot reach 127.0.0.1:9")


async def test_a_dripping_server_cannot_outlast_the_deadline(server):
    """One byte every 0.3 s keeps a 0.5 s read timeout alive forever; the whole answer has a deadline."""
    server.route("GET", "/drip", Reply(body=b"[" + b" " * 200 + b"]", drip=0.3))
    async with httpx.AsyncClient(timeout=0.5) as quick:
        http = HttpFetcher(quick, sleep=FakeTime().sleep, attempts=1, deadline=1.0)
        started = asyncio.get_running_loop().time()
        with pytest.raises(FetchError, match=r"no complete answer within 1 s"):
            await http.get(f"{server.url}/drip", {})
        assert asyncio.get_running_loop().time() - started < 5


@pytest.mark.parametrize("declared", [None, -1, 10**12])  # honest, unsaid, claimed
async def test_a_body_over_the_cap_is_refused_while_streaming(server, client, declared):
    server.route("GET", "/big", Reply(body=b"x" * 5000, declared_length=declared))
    http = HttpFetcher(client, sleep=FakeTime().sleep, attempts=1, max_bytes=1000)
    with pytest.raises(FetchError, match=r"sent more than 0 MB; refusing the answer"):
        await http.get(f"{server.url}/big", {})


async def test_redirects_are_followed_only_on_the_same_or_known_hosts(server, client):
    server.route("GET", "/moved", Reply(301, headers={"Location": "/api/daily_papers?date=2024-10-25"}))
    server.route("GET", "/api/daily_papers", Reply(body=HF_2024))
    server.route("GET", "/away", Reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data"}))
    http = HttpFetcher(client, sleep=FakeTime().sleep, attempts=1)
    assert await http.get(f"{server.url}/moved", {}) == HF_2024
    with pytest.raises(FetchError, match=r"redirected to 169\.254\.169\.254, which is not a known source"):
        await http.get(f"{server.url}/away", {})
    assert [c.path for c in server.requests] == ["/moved", "/api/daily_papers", "/away"]


def test_one_poisoned_item_no_longer_fails_the_whole_hf_day(server, db_env):
    items = json.loads(HF_2024)
    items[1]["paper"]["upvotes"] = 2**40
    items[2]["paper"]["title"] = "T" * 20_000
    server.route("GET", "/api/daily_papers", Reply(body=json.dumps(items).encode()))
    result = paperboy("ingest", "hf:2024-10-25", env={**db_env, "PAPERBOY_HF_BASE_URL": server.url})
    assert result.code == 0, result.err
    assert result.err.strip() == "warning: hf:2024-10-25: 1 skipped: title too long at item 2"
    assert result.out.strip().endswith(f"{len(items) - 1} papers: {len(items) - 1} new, 0 updated, 0 unchanged, "
                                       "1 skipped")
