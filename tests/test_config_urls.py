"""URLs in the settings: a malformed one stops every command at start, naming its variable, instead of passing
`config check` as an endpoint "unreachable right now" and failing every request of the running bot."""

from __future__ import annotations

import pytest

from tests.cli_runner import paperboy

BAD = ["notaurl", "ftp://example.com", "http://", "https://exa mple.com", "localhost:11434/v1", "javascript:alert(1)",
       "http://host\x1b[2J/v1"]


@pytest.mark.parametrize("variable", ["PAPERBOY_LLM_BASE_URL", "PAPERBOY_EMBEDDINGS_BASE_URL",
                                      "PAPERBOY_HF_BASE_URL", "PAPERBOY_ARXIV_BASE_URL", "PAPERBOY_SLACK_API_URL",
                                      "PAPERBOY_DISCORD_API_URL", "PAPERBOY_DISCORD_GATEWAY_URL"])
def test_a_malformed_url_setting_is_one_line_and_exit_2(variable, tmp_path):
    env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    for value in BAD:
        result = paperboy("config", "check", env={**env, variable: value})
        assert result.code == 2, (value, result)
        assert result.err.startswith(f"error: {variable}=") and result.err.count("\n") == 1, (value, result.err)
        assert "http" in result.err and "\x1b" not in result.err and "Traceback" not in result.err
    assert not (tmp_path / "p.db").exists()  # stopped before anything was opened


def test_urls_people_really_use_are_taken(tmp_path):
    env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PAPERBOY_LLM_BASE_URL": "",
           "PAPERBOY_HF_BASE_URL": "http://127.0.0.1:9/", "PAPERBOY_ARXIV_BASE_URL": "https://[::1]:9",
           "PAPERBOY_EMBEDDINGS_BASE_URL": "http://user:secret@localhost:11434/v1"}
    result = paperboy("papers", "list", env=env)
    assert result.code == 0, result.err


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite+aiosqlite:///", "sqlite:///:memory:",
                                 "sqlite:///file::memory:?cache=shared&uri=true", "sqlite:///file:x?mode=memory&uri=true"])
def test_an_sqlite_database_in_memory_is_refused_rather_than_losing_everything_at_exit(url, tmp_path):
    """`sqlite://` (no file) passed `config check` as "reachable", and the bot answered "Subscribed" to topics that
    were gone when the process stopped: SQLite without a file keeps the database in memory."""
    check = paperboy("config", "check", env={"PAPERBOY_DATABASE_URL": url})
    assert check.code == 1 and "FAIL database: " in check.err and "file" in check.err, check
    said = paperboy("say", "/subscribe gnn", env={"PAPERBOY_DATABASE_URL": url})
    assert said.code == 2 and said.out == "" and said.err.startswith("error: ") and said.err.count("\n") == 1, said


def test_the_default_timezone_follows_the_rule_chat_settings_do(tmp_path):
    """PAPERBOY_TIMEZONE=EST was taken, while `/papers digest 09:00 EST` is refused: every channel naming no zone
    got New York's winter clock all year."""
    env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    for zone in ("EST", "Etc/GMT-2", "localtime"):
        result = paperboy("config", "check", env={**env, "PAPERBOY_TIMEZONE": zone})
        assert result.code == 2 and result.err.startswith(f"error: PAPERBOY_TIMEZONE={zone}: "), result
    assert paperboy("config", "check", env={**env, "PAPERBOY_TIMEZONE": "america/new_york"}).code == 0
