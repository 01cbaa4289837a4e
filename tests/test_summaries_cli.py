"""`paperboy summarize` and `paperboy stats` as a user runs them: separate processes, a fake LLM over HTTP."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from bot.cli import build_cli
from tests.cli_runner import Result, paperboy
from tests.conftest import FIXTURES
from tests.fakes.fake_openai import FakeOpenAI

HF_2024 = str(FIXTURES / "hf_daily_papers_sample_2024-10.json")


@pytest.fixture
def llm():
    with FakeOpenAI() as fake:
        yield fake


def test_summarize_then_stats(db_env, llm, monkeypatch):
    env = {**db_env, "PAPERBOY_LLM_BASE_URL": llm.base_url, "PAPERBOY_LLM_MODEL": "fake-model",
           "PAPERBOY_LLM_API_KEY": "sk-cli-secret", "PAPERBOY_LLM_TIMEOUT": "5"}
    use_env(monkeypatch, env)
    assert invoke("ingest", HF_2024).code == 0

    first = paperboy("summarize", "2410.17243", env=env)
    assert first.code == 0, first.err
    lines = first.out.strip().splitlines()
    assert lines[1].endswith("proposes a new technique that beats strong baselines.")
    assert lines[-1] == "— fake-model"
    again = invoke("summarize", "https://arxiv.org/abs/2410.17243v2")
    assert again.out.strip().splitlines()[-1] == "— fake-model, from cache"
    assert len(llm.calls) == 1
    missing = invoke("summarize", "#999999")
    assert (missing.code, missing.out, missing.err) == (2, "", "error: no stored paper matches '#999999'\n")

    stats = paperboy("stats", env=env)
    assert stats.code == 0, stats.err
    out = stats.out
    assert "Summary requests: 2; cache hit rate 50% (1 served from the cache or a shared call, 1 newly generated)" \
        in out
    prompt = len(json.dumps(llm.calls[0].json()["messages"]).split())  # what the fake reported as usage
    completion = len(lines[1].split())
    tokens = f"{prompt + completion:,} tokens ({prompt:,} prompt + {completion:,} completion)"
    assert f"LLM calls: 1 (1 ok); {tokens}; average latency" in out
    assert f"Today: 1 call, {prompt + completion:,} tokens (no daily budget)" in out
    assert f"  fake-model: 1 call, {tokens}" in out
    assert "Stored summaries: 1" in out
    assert "sk-cli-secret" not in out + first.out + first.err
    assert len(llm.calls) == 1


def invoke(*args: str) -> Result:
    """In-process, for the checks that do not need a separate process: much faster than a subprocess."""
    result = CliRunner().invoke(build_cli(), list(args))
    return Result(result.exit_code, result.stdout, result.stderr)


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name in [n for n in os.environ if n.startswith("PAPERBOY_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def sqlite_env(tmp_path, monkeypatch) -> None:
    use_env(monkeypatch, {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"})
    assert invoke("ingest", HF_2024).code == 0


def test_offline_summary_answer_and_usage_errors(sqlite_env, llm, monkeypatch):
    offline = invoke("summarize", "2410.17243", "--kind", "summary")
    assert offline.code == 0, offline.err
    assert offline.out.strip().splitlines()[-1] == "— offline summary (no LLM configured)"
    assert 3 <= sum(line.startswith("• ") for line in offline.out.splitlines()) <= 4
    unknown = invoke("summarize", "2410.17243", "--question", "Who funded this work?")
    assert unknown.out.strip().splitlines()[-2:] == ["The abstract does not say.",
                                                     "— offline summary (no LLM configured)"]

    monkeypatch.setenv("PAPERBOY_LLM_BASE_URL", llm.base_url)
    answer = invoke("summarize", "#1", "--question", "What does it use?")
    assert answer.code == 0, answer.err
    assert "Q: What does it use?" in answer.out and "uses a new technique." in answer.out
    assert llm.calls[0].json()["model"] == "gpt-4o-mini"  # the default model name

    for args, message in [
        (("--kind", "haiku"), "error: unknown kind 'haiku': use --kind tldr or --kind summary"),
        (("--kind", "tldr", "--question", "why?"), "error: use either --kind or --question, not both"),
        (("--question", "   "), "error: the question is empty"),
        (("--question", "x" * 600), "error: the question is too long (at most 500 characters)"),
    ]:
        bad = invoke("summarize", "2410.17243", *args)
        assert (bad.code, bad.out, bad.err.strip()) == (2, "", message)
    assert len(llm.calls) == 1
