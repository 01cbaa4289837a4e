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
           "PAPERBOY_LLM_CONCURRENCY": "many", "PAPERBOY_INGEST_TIME": "٠٦:٠٠", "PAPERBOY_TIMEZONE": "Europe/Pariss",
           "PAPERBOY_HTTP_TIMEOUT": "0", "PAPERBOY_DIGEST_TLDR_DEADLINE": "inf"}
    result = paperboy(*command, env=env)
    assert result.code == 2
    assert sorted(result.err.strip().splitlines()) == [
        "error: PAPERBOY_DIGEST_TLDR_DEADLINE=inf: Input should be less than or equal to 600",
        "error: PAPERBOY_HTTP_PORT=0: Input should be greater than or equal to 1",
        "error: PAPERBOY_HTTP_TIMEOUT=0: Input should be greater than 0",
        "error: PAPERBOY_INGEST_TIME=٠٦:٠٠: use HH:MM with the digits 0-9, e.g. 06:00",
        "error: PAPERBOY_LLM_CONCURRENCY=many: Input should be a valid integer, unable to parse string as an integer",
        "error: PAPERBOY_TIMEZONE=Europe/Pariss: unknown timezone 'Europe/Pariss' (use a name like Europe/Paris or "
        "UTC)",
    ]
    assert result.out == ""
    assert not (tmp_path / "p.db").exists()  # nothing was started


@pytest.mark.parametrize("command", [("config", "check"), ("run",)], ids=" ".join)
def test_empty_huge_or_garbled_names_are_refused_at_start(command, tmp_path):
    """An empty PAPERBOY_LLM_MODEL reached the LLM as "" on every summary; a 5,000-character one overflowed the
    column summaries are counted under; an empty PAPERBOY_HTTP_HOST listened on every interface; an empty
    console channel posted digests to "#". Each is now one line naming the variable, before anything starts,
    and the value shown is cut and carries no terminal escape."""
    env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PAPERBOY_CONSOLE_CHANNEL": "",
           "PAPERBOY_LLM_MODEL": "m" * 5000, "PAPERBOY_HTTP_HOST": "\x1b[2J0.0.0.0",
           "PAPERBOY_EMBEDDINGS_MODEL": "text embedding"}
    result = paperboy(*command, env=env)
    assert result.code == 2, result.err
    assert sorted(result.err.strip().splitlines()) == [
        "error: PAPERBOY_CONSOLE_CHANNEL=: must not be empty",
        "error: PAPERBOY_EMBEDDINGS_MODEL=text embedding: must have no spaces or control characters",
        "error: PAPERBOY_HTTP_HOST=\\x1b[2J0.0.0.0: must have no spaces or control characters",
        f"error: PAPERBOY_LLM_MODEL={'m' * 40}: must be at most 200 characters (it has 5000)",
    ]
    assert "\x1b" not in result.err and result.out == ""
    assert not (tmp_path / "p.db").exists()
    spaces = paperboy(*command, env={**env, "PAPERBOY_CONSOLE_CHANNEL": "@ada", "PAPERBOY_LLM_MODEL": "   ",
                                     "PAPERBOY_HTTP_HOST": "x" * 300, "PAPERBOY_EMBEDDINGS_MODEL": ""})
    assert sorted(spaces.err.strip().splitlines()) == [
        "error: PAPERBOY_CONSOLE_CHANNEL=@ada: must be a channel name, not a person (@…)",
        f"error: PAPERBOY_HTTP_HOST={'x' * 40}: must be at most 253 characters (it has 300)",
        "error: PAPERBOY_LLM_MODEL=   : must not be empty",
    ]


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
    assert "warn LLM endpoint http://summaries:•••@127.0.0.1:" in down.err
    assert "FAIL database: " in down.err and "postgresql+asyncpg://paperboy:•••@127.0.0.1:" in down.err
    for result in (ok, down):
        assert PASSWORD not in result.out + result.err


def test_an_unreachable_llm_or_platform_is_a_warning_not_a_reason_not_to_start(tmp_path):
    """Summaries fall back to offline and the platforms are reconnected to, so a service down at boot must not
    fail `config check` (systemd runs it before every start); a rejected token still does."""
    env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
           "PAPERBOY_LLM_BASE_URL": f"http://127.0.0.1:{closed_port()}/v1",
           "PAPERBOY_DISCORD_API_URL": f"http://127.0.0.1:{closed_port()}/api/v10",
           "DISCORD_TOKEN": "MTA3NjQxMjM0NTY3ODkwMTIzNA.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"}
    down = paperboy("config", "check", env=env)
    assert down.code == 0, down.err
    assert "warn LLM endpoint http://127.0.0.1:" in down.err and "summaries are offline until it answers" in down.err
    assert "warn DISCORD_TOKEN: Discord is unreachable" in down.err
    assert "configuration ok (with warnings)" in down.out


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


SLACK_BOT = "xoxb-1234567890-abcdefghijklmnopqrstuv"
SLACK_APP = "xapp-1-A0PAPER-1234567890-abcdefabcdef"
DISCORD_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


def test_config_check_asks_slack_about_the_app_token_too(tmp_path):
    """Socket Mode's first call is apps.connections.open with the xapp- token: config check makes it, so a
    revoked app token fails here instead of looping in `paperboy run`."""
    import json

    from tests.fakes.fake_slack import FakeSlack
    from tests.fakes.http_server import Reply

    def connections_open(rec):
        accepted = rec.headers.get("Authorization") == f"Bearer {SLACK_APP}"
        body = {"ok": True, "url": "wss://127.0.0.1:9/link"} if accepted else {"ok": False, "error": "invalid_auth"}
        return Reply(200, json.dumps(body).encode())

    with FakeSlack() as slack:
        slack.route("POST", "/api/apps.connections.open", connections_open)
        env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "SLACK_BOT_TOKEN": SLACK_BOT,
               "PAPERBOY_SLACK_API_URL": slack.api_url}
        rejected = paperboy("config", "check", env={**env, "SLACK_APP_TOKEN": SLACK_APP[:-4] + "0000"})
        accepted = paperboy("config", "check", env={**env, "SLACK_APP_TOKEN": SLACK_APP})
    assert rejected.code == 1
    assert "FAIL SLACK_APP_TOKEN: Slack rejected it (apps.connections.open: invalid_auth)" in rejected.err
    assert "ok   slack: SLACK_BOT_TOKEN accepted (auth.test)" in rejected.out
    assert accepted.code == 0, accepted.err
    assert "ok   slack: SLACK_APP_TOKEN accepted (apps.connections.open)" in accepted.out
    for result in (rejected, accepted):
        assert SLACK_APP[8:] not in result.out + result.err and SLACK_BOT[8:] not in result.out + result.err


def test_config_check_reports_the_discord_intent_and_whether_the_portal_enabled_it(tmp_path):
    from tests.fakes.fake_discord import API, FakeDiscord

    with FakeDiscord() as discord_api:
        discord_api.token = DISCORD_TOKEN
        env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "DISCORD_TOKEN": DISCORD_TOKEN,
               "PAPERBOY_DISCORD_API_URL": discord_api.url + API}
        off = paperboy("config", "check", env=env)
        not_enabled = paperboy("config", "check", env={**env, "PAPERBOY_DISCORD_MESSAGE_CONTENT": "true"})
        discord_api.app_flags = 1 << 19  # the portal's switch, for a bot in fewer than 100 servers
        enabled = paperboy("config", "check", env={**env, "PAPERBOY_DISCORD_MESSAGE_CONTENT": "true"})
        bad = paperboy("config", "check", env={**env, "DISCORD_TOKEN": DISCORD_TOKEN[:-2] + "XY"})
    assert off.code == 0, off.err
    assert "ok   discord: message-content intent off" in off.out and "ok   discord: token accepted" in off.out
    assert not_enabled.code == 1
    assert ("FAIL PAPERBOY_DISCORD_MESSAGE_CONTENT=true but the Message Content intent is not enabled"
            in not_enabled.err)
    assert enabled.code == 0 and "ok   discord: message-content intent on" in enabled.out
    assert bad.code == 1 and "FAIL DISCORD_TOKEN: Discord rejected it" in bad.err
    for result in (off, not_enabled, enabled, bad):
        assert DISCORD_TOKEN[30:] not in result.out + result.err


SLACK_SECRET = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("slack", [
    {"SLACK_BOT_TOKEN": SLACK_BOT},  # the app token forgotten: neither Socket Mode nor HTTP mode
    {"SLACK_APP_TOKEN": SLACK_APP},
    {"SLACK_SIGNING_SECRET": SLACK_SECRET, "SLACK_CLIENT_ID": "1234.5678"},  # OAuth without its client secret
], ids=["bot token only", "app token only", "oauth without client secret"])
def test_config_check_refuses_a_half_configured_slack_as_run_does(slack, tmp_path):
    """`config check` said "configuration ok" for a Slack set up halfway, and `paperboy run` (the systemd unit's
    ExecStart, right after the check in ExecStartPre) then stopped on it: the check must say so first."""
    env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PAPERBOY_HTTP_PORT": str(closed_port()),
           "PAPERBOY_SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/", **slack}
    checked = paperboy("config", "check", env=env)
    started = paperboy("run", env=env)
    assert started.code == 2 and "Slack is half configured" in started.err, started.err
    assert checked.code == 1, checked.out + checked.err
    assert "FAIL slack: half configured" in checked.err
    assert "configuration ok" not in checked.out


@pytest.mark.parametrize(("variable", "value", "hint"), [
    ("SLACK_BOT_TOKEN", "xoxb-123-abc", "too short for a whole token (a cut copy?)"),
    ("SLACK_BOT_TOKEN", "xapp-1-A0PAPER-1234567890-abcdefabcdef", "should start with xoxb-"),
    ("SLACK_APP_TOKEN", "xapp-1-A0", "too short for a whole token (a cut copy?)"),
], ids=["cut bot token", "app token as bot token", "cut app token"])
def test_a_token_of_the_wrong_shape_is_told_what_is_wrong_with_it(variable, value, hint, tmp_path):
    """A cut copy of a bot token ("xoxb-123-abc") was told it "should start with xoxb-", which it does."""
    env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
           "PAPERBOY_SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/",
           "SLACK_BOT_TOKEN": SLACK_BOT, "SLACK_APP_TOKEN": SLACK_APP, variable: value}
    checked = paperboy("config", "check", env=env)
    assert checked.code == 1
    line = next(line for line in checked.err.splitlines() if line.startswith(f"FAIL {variable}: bad token shape"))
    assert hint in line, line
    assert value not in checked.out + checked.err


@pytest.mark.parametrize(("secret", "accepted"), [
    ("0123456789abcdef0123456789abcdef", True), ("0123456789ABCDEFghij456789abcdef", True),
    ("0123456789abcdef0123456789abcde", False), ("0123456789abcdef-123456789abcdef", False),
])
def test_config_check_and_the_bot_agree_on_what_a_signing_secret_looks_like(secret, accepted):
    """`config check` wanted 32 lowercase hexadecimal characters while `paperboy run` took any 32 letters and
    digits: one said ok to what the other refused. Both now read one rule."""
    from pydantic import SecretStr

    from bot.config import Settings
    from bot.config_check import Report, check_token_shapes

    report = Report()
    check_token_shapes(Settings(slack_signing_secret=SecretStr(secret)), report)
    assert (not any(p.startswith("SLACK_SIGNING_SECRET") for p in report.problems)) is accepted
