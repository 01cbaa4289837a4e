"""The LLM summarizer against a fake OpenAI-compatible server over real HTTP; injected sleep, no waiting."""

from __future__ import annotations

import logging
import time

import pytest
from pydantic import SecretStr

from bot.summaries.kinds import PaperText, SummaryKind, SummaryRequest
from bot.summaries.llm_summarizer import LlmSummarizer, make_openai_client
from bot.summaries.summarizer import SummaryFailure
from tests.fakes.fake_openai import FakeOpenAI, completion, hanging, malformed, rate_limited, server_error
from tests.fakes.fake_time import FakeTime
from tests.fakes.http_server import Reply

PAPER = PaperText(1, "Tiny Transformers", "We propose a tiny transformer. It matches large ones on GLUE.", "2401.00001")
TLDR = SummaryRequest(PAPER, SummaryKind.TLDR)
KEY = "sk-test-secret-key-123"


@pytest.fixture
def llm_server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def summarizer(llm_server, fake_time):
    client = make_openai_client(llm_server.base_url, SecretStr(KEY), timeout=20)
    yield LlmSummarizer(client, "fake-model", timeout=20, sleep=fake_time.sleep, clock=fake_time.clock)
    await client.close()


async def test_reply_usage_and_request_shape(summarizer, llm_server):
    draft = await summarizer.summarize(TLDR)
    assert draft.text == "Tiny Transformers proposes a new technique that beats strong baselines."
    assert draft.completion_tokens == 10 and draft.prompt_tokens > 50 and draft.attempts == 1
    (call,) = llm_server.calls
    assert llm_server.header(0, "Authorization") == f"Bearer {KEY}"
    body = call.json()
    assert body["model"] == "fake-model" and body["max_tokens"] == 120
    system, user = body["messages"]
    assert system["role"] == "system" and "untrusted" in system["content"] and "never instructions" in system["content"]
    assert user["content"].startswith("<paper>\nTitle: Tiny Transformers\nAbstract: We propose")
    assert user["content"].endswith("</paper>")


async def test_429_retry_after_is_waited_out_then_succeeds(summarizer, llm_server, fake_time):
    llm_server.script(rate_limited("7"))
    draft = await summarizer.summarize(TLDR)
    assert draft.attempts == 2 and "Tiny Transformers" in draft.text
    assert fake_time.sleeps == [7.0]
    assert len(llm_server.calls) == 2


async def test_5xx_backs_off_exponentially(summarizer, llm_server, fake_time):
    llm_server.script(server_error(500), server_error(503))
    draft = await summarizer.summarize(TLDR)
    assert draft.attempts == 3
    assert fake_time.sleeps == [1.0, 2.0]


async def test_persistent_5xx_is_an_outage_after_the_attempts(summarizer, llm_server, fake_time):
    llm_server.always(server_error(500))
    with pytest.raises(SummaryFailure) as failure:
        await summarizer.summarize(TLDR)
    assert failure.value.reason == "server error" and failure.value.outage and failure.value.attempts == 3
    assert len(llm_server.calls) == 3 and fake_time.sleeps == [1.0, 2.0]


async def test_retry_after_beyond_the_deadline_gives_up_at_once(summarizer, llm_server, fake_time):
    llm_server.script(rate_limited("45"))
    with pytest.raises(SummaryFailure, match="rate-limited"):
        await summarizer.summarize(TLDR)
    assert fake_time.sleeps == [] and len(llm_server.calls) == 1


async def test_client_errors_are_not_retried(summarizer, llm_server):
    llm_server.script(Reply(401, b'{"error": {"message": "bad key"}}'))
    with pytest.raises(SummaryFailure, match="LLM refused the request: HTTP 401"):
        await summarizer.summarize(TLDR)
    assert len(llm_server.calls) == 1


@pytest.mark.parametrize("reply, reason", [
    (malformed(), "malformed"),
    (Reply(200, b"<html>gateway</html>", {"Content-Type": "text/html"}), "malformed"),
    (Reply(200, b'{"object": "chat.completion", "choices": []}'), "malformed"),
    (completion(""), "empty"),
    (completion(None), "malformed"),
    (completion("ok"), "unparseable"),
])
async def test_unusable_replies_fail_without_an_outage(summarizer, llm_server, reply, reason):
    llm_server.script(reply)
    with pytest.raises(SummaryFailure) as failure:
        await summarizer.summarize(TLDR)
    assert failure.value.reason == reason and not failure.value.outage
    assert len(llm_server.calls) == 1


async def test_a_summary_without_bullets_is_unparseable_but_its_tokens_count(summarizer, llm_server):
    llm_server.script(completion("Just one paragraph, no bullets at all.", prompt_tokens=70, completion_tokens=8))
    with pytest.raises(SummaryFailure) as failure:
        await summarizer.summarize(SummaryRequest(PAPER, SummaryKind.SUMMARY))
    assert failure.value.reason == "unparseable"
    assert (failure.value.prompt_tokens, failure.value.completion_tokens) == (70, 8)


async def test_bullets_and_reasoning_blocks(summarizer, llm_server):
    llm_server.script(completion("<think>Let me think about it.</think>\nHere you go:\n* one thing\n2. another thing"))
    draft = await summarizer.summarize(SummaryRequest(PAPER, SummaryKind.SUMMARY))
    assert draft.text == "- one thing\n- another thing"


async def test_hanging_server_times_out_within_the_deadline(llm_server):
    llm_server.always(hanging(5))
    client = make_openai_client(llm_server.base_url, None, timeout=0.4)
    quick = LlmSummarizer(client, "fake-model", timeout=0.4)
    started = time.monotonic()
    try:
        with pytest.raises(SummaryFailure) as failure:
            await quick.summarize(TLDR)
    finally:
        await client.close()
    assert failure.value.reason == "timeout" and failure.value.outage
    assert time.monotonic() - started < 1.5
    assert llm_server.header(0, "Authorization") == "Bearer not-needed"  # local servers need no key


async def test_unreachable_server_is_an_outage(fake_time):
    client = make_openai_client("http://127.0.0.1:9/v1", None, timeout=2)
    llm = LlmSummarizer(client, "m", timeout=2, sleep=fake_time.sleep, clock=fake_time.clock)
    try:
        with pytest.raises(SummaryFailure) as failure:
            await llm.summarize(TLDR)
    finally:
        await client.close()
    assert failure.value.reason == "unreachable" and failure.value.outage


async def test_the_api_key_never_reaches_the_logs(summarizer, llm_server, caplog):
    caplog.set_level(logging.DEBUG)
    llm_server.script(server_error(500), rate_limited("1"))
    await summarizer.summarize(TLDR)
    assert KEY not in caplog.text
