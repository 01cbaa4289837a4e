"""Settings as operators get them wrong: every command that loads settings says what is wrong in one line per
setting (naming the variable, exit 2), and no password written inside a URL is ever printed."""

from __future__ import annotations

import socket

import pytest

from tests.cli_runner import paperboy
from tests.fakes.fake_openai import FakeOpenAI

PASSWORD = "pa55-Wd-never-printed"

COMMANDS = [("config", "check"), ("run",), ("papers", "list"), ("ingest", "--sample"), ("digest", "status"),
            ("say", "/papers today"), ("topics", "match", "gnn")]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_setting_out_of_range_is_one_line_per_setting_and_exit_2(command, tmp_path):
    env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PAPERBOY_HTTP_PORT": "0",
           "PAPERBOY_LLM_CONCURRENCY": "many", "PAPERBOY_INGEST_TIME": "٠٦:٠٠"}
    result = paperboy(*command, env=env)
    assert result.code == 2
    assert sorted(result.err.strip().splitlines()) == [
        "error: PAPERBOY_HTTP_PORT=0: Input should be greater than or equal to 1",
        "error: PAPERBOY_INGEST_TIME=٠٦:٠٠: use HH:MM with the digits 0-9, e.g. 06:00",
        "error: PAPERBOY_LLM_CONCURRENCY=many: Input should be a valid integer, unable to parse string as an integer",
    ]
    assert result.out == ""
    assert not (tmp_path / "p.db").exists()  # nothing was started


def test_a_password_in_a_database_url_is_never_echoed_with_its_error(tmp_path):
    env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PAPERBOY_DIGEST_MAX_ITEMS": "0",
           "PAPERBOY_HF_BASE_URL": f"https://bot:{PASSWORD}@hf.internal/" + "x" * 50}
    result = paperboy("papers", "list", env=env)
    assert result.code == 2 and result.err.startswith("error: PAPERBOY_DIGEST_MAX_ITEMS=0: ")
    assert PASSWORD not in result.err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_config_check_masks_credentials_inside_urls(tmp_path):
    with FakeOpenAI() as llm:
        llm_url = llm.base_url.replace("http://", f"http://summaries:{PASSWORD}@")
        ok = paperboy("config", "check", env={"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
                                               "PAPERBOY_LLM_BASE_URL": llm_url})
        down = paperboy("config", "check", env={
            "PAPERBOY_DATABASE_URL": f"postgresql://paperboy:{PASSWORD}@127.0.0.1:{closed_port()}/paperboy",
            "PAPERBOY_LLM_BASE_URL": f"http://summaries:{PASSWORD}@127.0.0.1:{closed_port()}/v1"})
    assert ok.code == 0, ok.err
    assert f"at {llm.base_url.replace('http://', 'http://summaries:•••@')} (reachable)" in ok.out
    assert down.code == 1
    assert "FAIL LLM endpoint http://summaries:•••@127.0.0.1:" in down.err
    assert "FAIL database: " in down.err and "postgresql+asyncpg://paperboy:•••@127.0.0.1:" in down.err
    for result in (ok, down):
        assert PASSWORD not in result.out + result.err


def test_the_log_filter_masks_passwords_in_urls_and_quoted_alone():
    """The one masking function serves the log filter too: httpx's request lines, a driver's error text."""
    import logging

    from bot.config import Settings
    from bot.logging_setup import SecretFilter

    settings = Settings(_env_file=None, llm_base_url=f"http://summaries:{PASSWORD}%40x@llm.internal/v1",  # type: ignore[call-arg]
                        database_url=f"postgresql://app:{PASSWORD}@db/paperboy")
    log_filter = SecretFilter(settings.secrets())
    for message, shown in [
        (f'HTTP Request: POST http://summaries:{PASSWORD}%40x@llm.internal/v1/chat "HTTP/1.1 200 OK"',
         'HTTP Request: POST http://summaries:•••@llm.internal/v1/chat "HTTP/1.1 200 OK"'),
        (f"password authentication failed ({PASSWORD}@x)", "password authentication failed (•••)"),
        (f"cannot reach postgresql+asyncpg://app:{PASSWORD}@db/paperboy", "cannot reach postgresql+asyncpg://app:•••@db/paperboy"),
    ]:
        record = logging.LogRecord("httpx", logging.INFO, __file__, 1, message, None, None)
        assert log_filter.filter(record) and record.getMessage() == shown
