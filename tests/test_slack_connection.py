"""Slack as `paperboy run` starts it: credentials checked at start (one line when refused or unreachable), a
Socket Mode connection that comes back after a drop while /healthz says so, and HTTP mode served on the one
listener (PAPERBOY_HTTP_PORT) with /healthz and /metrics, as deploy/compose.yaml publishes it."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr
from slack_sdk.oauth.installation_store import Installation

from adapters.slack.slack_runtime import SlackConnector, SlackCredentials
from bot.errors import PaperboyError, UsageError
from bot.metrics import Metrics
from bot.ops_server import build_ops_app
from storage.database import Database
from tests.chat_fixtures import make_bot
from tests.fakes.fake_slack import (
    SIGNING_SECRET,
    TEAM,
    FakeSlack,
    FakeSocketMode,
    command_request,
    slack_error,
)
from tests.fakes.fake_time import Sleeps
from tests.waiting import wait_for

ROOT = Path(__file__).parent.parent


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server



def socket_connector(db: Database, fake: FakeSlack, *, bot: str = "xoxb-test", app: str = "xapp-test",
                     base_url: str | None = None, sleep: Sleeps | None = None) -> SlackConnector:
    creds = SlackCredentials(bot_token=SecretStr(bot), app_token=SecretStr(app), api_base_url=base_url or fake.api_url)
    return SlackConnector(make_bot(db).core, creds, db, ping_interval=0.05, sleep=sleep or Sleeps(0.01))


# -- start: credentials checked, one line --------------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "variable", "method"), [("xapp-revoked", "SLACK_APP_TOKEN", "apps.connections.open"),
                                                         ("xoxb-revoked", "SLACK_BOT_TOKEN", "auth.test")])
async def test_a_rejected_token_fails_start_with_one_line(db: Database, fake: FakeSlack, bad: str, variable: str,
                                                          method: str):
    fake.rejected_tokens.add(bad)
    connector = socket_connector(db, fake, **({"app": bad} if bad.startswith("xapp") else {"bot": bad}))
    with pytest.raises(PaperboyError) as caught:
        await asyncio.wait_for(connector.start(), 30)
    message = str(caught.value)
    assert message == f"Slack rejected {variable} ({method}: invalid_auth)"
    assert bad not in message and "\n" not in message
    assert connector.health() != "ok"
    await connector.stop()


async def test_an_unreachable_slack_fails_start_with_one_line(db: Database, fake: FakeSlack):
    connector = socket_connector(db, fake, base_url="http://127.0.0.1:1/api/")
    with pytest.raises(PaperboyError) as caught:
        await asyncio.wait_for(connector.start(), 30)
    assert str(caught.value).startswith("Slack unreachable at http://127.0.0.1:1/api/ (auth.test: ")
    await connector.stop()


async def test_an_answer_that_is_not_json_fails_start_with_one_line_saying_so(db: Database, fake: FakeSlack):
    """auth.test answered with HTTP 200 and a text/plain body (a proxy in front of Slack): start fails with one
    line naming the method, the variable and what came back, not "unknown_error" (nor slack_sdk's
    AttributeError)."""
    from tests.fakes.http_server import Reply

    fake.route("POST", "/api/auth.test", Reply(200, b"proxy says hello", {"Content-Type": "text/plain"}))
    connector = socket_connector(db, fake)
    with pytest.raises(PaperboyError) as caught:
        await asyncio.wait_for(connector.start(), 30)
    message = str(caught.value)
    assert "SLACK_BOT_TOKEN" in message and "auth.test" in message and "not JSON" in message, message
    assert "proxy says hello" in message and "\n" not in message and "unknown_error" not in message
    await connector.stop()


def test_only_an_app_token_is_a_half_configuration_not_a_silent_start(db: Database):
    creds = SlackCredentials(app_token=SecretStr("xapp-test"))
    with pytest.raises(UsageError, match="Slack is half configured"):
        SlackConnector(make_bot(db).core, creds, db)


def test_http_mode_without_the_http_port_says_which_variable(db: Database):
    creds = SlackCredentials(bot_token=SecretStr("xoxb-test"), signing_secret=SecretStr(SIGNING_SECRET))
    with pytest.raises(UsageError, match="PAPERBOY_HTTP_PORT"):
        SlackConnector(make_bot(db).core, creds, db)


# -- Socket Mode: connected, dropped, back -------------------------------------------------------------------------


@pytest.fixture
async def socket_server(fake: FakeSlack) -> AsyncIterator[FakeSocketMode]:
    async with FakeSocketMode() as server:
        fake.socket_url = server.url
        yield server


async def test_socket_mode_answers_commands_and_reports_a_lost_connection_until_it_is_back(
        db: Database, fake: FakeSlack, socket_server: FakeSocketMode):
    sleeps = Sleeps(0.01)
    connector = socket_connector(db, fake, sleep=sleeps)
    assert connector.health() == "connecting"
    await asyncio.wait_for(connector.start(), 30)
    try:
        assert connector.health() == "ok" and socket_server.connections == 1
        # A slash command over the socket: acknowledged on the socket, answered on its response_url.
        payload = {"team_id": TEAM, "channel_id": "C1", "user_id": "U1", "command": "/papers", "text": "help",
                   "response_url": fake.response_url(1), "trigger_id": "1.2.3", "api_app_id": "A1"}
        await socket_server.send({"envelope_id": "env-1", "type": "slash_commands", "payload": payload,
                                  "accepts_response_payload": True})
        await wait_for(lambda: any(a.get("envelope_id") == "env-1" for a in socket_server.acks), within=30)
        (answer,) = await wait_for(lambda: fake.responses(1), within=30)
        assert "summarize" in answer["text"]

        # Slack goes away: the socket closes and no new one can be opened.
        socket_server.refusing = True
        fake.route("POST", "/api/apps.connections.open", slack_error("internal_error", 500))
        await socket_server.drop()
        await wait_for(lambda: connector.health() == "reconnecting", within=30)
        await wait_for(lambda: len(sleeps.calls) >= 3, within=30)
        assert connector.health() == "reconnecting"
        assert sleeps.calls[:3] == [1.0, 2.0, 4.0]  # growing pauses between attempts, not a fixed hammering

        # Slack is back.
        fake.route("POST", "/api/apps.connections.open", fake._connections_open)
        socket_server.refusing = False
        await wait_for(lambda: connector.health() == "ok", within=60)
        assert socket_server.connections >= 2
    finally:
        await connector.stop()
    assert connector.health() == "stopped"


# -- HTTP mode: one listener ---------------------------------------------------------------------------------------


@pytest.fixture
async def one_listener(db: Database, fake: FakeSlack) -> AsyncIterator[tuple[str, SlackConnector]]:
    """What `paperboy run` serves on PAPERBOY_HTTP_PORT in HTTP mode with OAuth: the ops app with Slack's routes."""
    creds = SlackCredentials(signing_secret=SecretStr(SIGNING_SECRET), client_id="111.222",
                             client_secret=SecretStr("client-secret"), api_base_url=fake.api_url)
    connector = SlackConnector(make_bot(db).core, creds, db, http_port=8080)
    await connector.start()
    runner = web.AppRunner(build_ops_app(db, Metrics(), lambda: True, lambda: None, connectors=[connector]))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", connector
    finally:
        await runner.cleanup()
        await connector.stop()


async def test_http_mode_serves_slack_healthz_and_metrics_on_one_port(one_listener: tuple[str, SlackConnector],
                                                                      fake: FakeSlack):
    base, connector = one_listener
    store = connector.runtime.installation_store
    assert store is not None
    await store.async_save(Installation(app_id="A1", team_id=TEAM, bot_token="xoxb-installed", bot_id="B1",
                                        bot_user_id="UBOT", bot_scopes=["commands", "chat:write"], user_id="U9"))
    request = command_request("/papers", "help", fake.response_url(2))
    async with aiohttp.ClientSession() as http:
        headers = {k: v[0] for k, v in request.headers.items()}
        async with http.post(base + "/slack/events", data=request.raw_body, headers=headers) as response:
            assert response.status == 200
        async with http.get(base + "/slack/install", allow_redirects=False) as response:
            assert response.status in (200, 302)
            assert "slack.com/oauth/v2/authorize" in (response.headers.get("Location", "") + await response.text())
        async with http.get(base + "/slack/oauth_redirect?code=x&state=forged", allow_redirects=False) as response:
            assert response.status == 400  # bolt's own answer to a state it never issued: the route is live
        async with http.get(base + "/healthz") as response:
            assert (await response.json())["slack"] == "ok"
        async with http.get(base + "/metrics") as response:
            assert response.status == 200
        # A garbled timestamp header is refused like a bad signature, not answered with a 500.
        bad = dict(headers, **{"x-slack-request-timestamp": "soon"})
        async with http.post(base + "/slack/events", data=request.raw_body, headers=bad) as response:
            assert response.status == 401
    (answer,) = await wait_for(lambda: fake.responses(2), within=30)
    assert answer["response_type"] == "ephemeral" and "summarize" in answer["text"]


def test_the_compose_file_publishes_the_port_slack_is_served_on():
    """deploy/compose.yaml and the Dockerfile publish PAPERBOY_HTTP_PORT, the one port Slack's routes are on; in
    compose it comes from .env (compose's own fixed value overrode it) and both sides of the published port follow."""
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    service = compose_service(compose, "paperboy")
    setting = service["environment"]["PAPERBOY_HTTP_PORT"]
    interpolated = re.fullmatch(r"\$\{PAPERBOY_HTTP_PORT:-(\d+)\}", setting)
    assert interpolated is not None, setting
    port = int(interpolated[1])
    assert service["ports"] == [f"127.0.0.1:{setting}:{setting}"], service["ports"]  # loopback on the host
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert f"PAPERBOY_HTTP_PORT={port}" in dockerfile and f"EXPOSE {port}" in dockerfile
    assert "os.environ.get('PAPERBOY_HTTP_PORT'" in dockerfile  # the HEALTHCHECK asks the same listener
    assert "SLACK_PORT" not in (ROOT / ".env.example").read_text() + compose + dockerfile


def compose_service(text: str, name: str) -> dict[str, Any]:
    """One service of a compose file: its `environment` map and `ports` list (the block style compose.yaml uses;
    read without a YAML library, as tests/test_command_table.py reads the Slack manifest)."""
    lines = text.splitlines()
    start = lines.index(f"  {name}:")
    found: dict[str, Any] = {"environment": {}, "ports": []}
    section = ""
    for line in lines[start + 1:]:
        if line.strip().startswith("#") or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent <= 2:
            break
        if indent == 4:
            section = line.strip().rstrip(":")
        elif section == "environment" and ":" in line:
            key, value = line.strip().split(":", 1)
            found["environment"][key] = value.strip().strip('"')
        elif section == "ports" and line.strip().startswith("- "):
            found["ports"].append(line.strip()[2:].strip('"'))
    return found


def test_slack_check_asks_slack_about_the_app_token_too(tmp_path: Path, fake: FakeSlack):
    from tests.cli_runner import paperboy

    fake.rejected_tokens.add("xapp-1-revoked")
    env = {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PAPERBOY_SLACK_API_URL": fake.api_url,
           "SLACK_BOT_TOKEN": "xoxb-good"}
    rejected = paperboy("slack", "check", env={**env, "SLACK_APP_TOKEN": "xapp-1-revoked"})
    assert rejected.code != 0
    assert rejected.err.strip().splitlines()[-1].endswith(
        "Slack rejected SLACK_APP_TOKEN (apps.connections.open: invalid_auth)")
    assert "revoked" not in rejected.out + rejected.err.replace("invalid_auth", "")
    accepted = paperboy("slack", "check", env={**env, "SLACK_APP_TOKEN": "xapp-1-good"})
    assert accepted.code == 0, accepted.err
    assert "ok: SLACK_APP_TOKEN accepted (apps.connections.open)" in accepted.out


# -- `paperboy run`, as operators start it -------------------------------------------------------------------------


async def _health(port: int) -> tuple[int, dict[str, Any]] | None:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as response:
            return response.status, await response.json()
    except (aiohttp.ClientError, OSError):
        return None


async def _healthy(port: int) -> tuple[int, dict[str, Any]] | None:
    """/healthz once it says 200: the first answers may be 503 "starting" while the bot warms up (a slow machine)."""
    found = await _health(port)
    return found if found and found[0] == 200 else None


async def until(check: Callable[[], Any], what: str, within: float = 120.0) -> Any:
    """Poll an async check until it holds (a process's own signal), with a generous deadline."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := await check():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {what} within {within} s")


def run_env(tmp_path: Path, fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {"PAPERBOY_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PAPERBOY_SLACK_API_URL": fake.api_url,
            "PAPERBOY_TICK_SECONDS": "0.5", **extra}


async def test_paperboy_run_with_a_rejected_app_token_exits_at_once_with_one_line(tmp_path: Path, fake: FakeSlack):
    from tests.test_run import so_far, start

    fake.rejected_tokens.add("xapp-1-revoked")
    proc = start(run_env(tmp_path, fake, SLACK_BOT_TOKEN="xoxb-good", SLACK_APP_TOKEN="xapp-1-revoked"))
    code = await asyncio.to_thread(proc.wait, 120)
    out, err = so_far(proc)
    assert code != 0
    assert err.strip().splitlines()[-1] == "error: Slack rejected SLACK_APP_TOKEN (apps.connections.open: invalid_auth)"
    assert "Traceback" not in err and "xapp-1-revoked" not in out + err


async def test_paperboy_run_in_http_mode_serves_slack_on_the_http_port(tmp_path: Path, fake: FakeSlack):
    from tests.test_run import free_port, start, stop

    port = free_port()
    proc = start(run_env(tmp_path, fake, SLACK_BOT_TOKEN="xoxb-good", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                         PAPERBOY_HTTP_PORT=str(port)))
    try:
        status, body = await until(lambda: _healthy(port), "a healthy /healthz")
        assert status == 200 and body["slack"] == "ok"
        request = command_request("/papers", "help", fake.response_url(1))
        async with aiohttp.ClientSession() as http:
            async with http.post(f"http://127.0.0.1:{port}/slack/events", data=request.raw_body,
                                 headers={k: v[0] for k, v in request.headers.items()}) as response:
                assert response.status == 200
        (answer,) = await wait_for(lambda: fake.responses(1), within=60)
        assert "summarize" in answer["text"]
    finally:
        code, _out, err = await asyncio.to_thread(stop, proc)
    assert code == 0, err[-2000:]


async def test_paperboy_run_reports_a_lost_socket_on_healthz_until_it_is_back(tmp_path: Path, fake: FakeSlack,
                                                                              socket_server: FakeSocketMode):
    from tests.test_run import free_port, start, stop

    port = free_port()
    proc = start(run_env(tmp_path, fake, SLACK_BOT_TOKEN="xoxb-good", SLACK_APP_TOKEN="xapp-1-good",
                         PAPERBOY_HTTP_PORT=str(port)))
    try:
        status, body = await until(lambda: _healthy(port), "a healthy /healthz")
        assert (status, body["slack"]) == (200, "ok") and socket_server.connections == 1
        socket_server.refusing = True
        await socket_server.drop()

        async def down() -> Any:
            found = await _health(port)
            return found if found and found[0] == 503 else None

        status, body = await until(down, "a 503")
        assert body["slack"] == "reconnecting" and body["scheduler"] == "ok"
        socket_server.refusing = False

        status, body = await until(lambda: _healthy(port), "slack back on /healthz")
        assert body["slack"] == "ok" and socket_server.connections >= 2
    finally:
        code, _out, err = await asyncio.to_thread(stop, proc)
    assert code == 0, err[-2000:]
    assert "Traceback" not in err


def test_oauth_installs_ask_for_the_scopes_the_manifest_declares():
    from tests.test_command_table import manifest_scopes

    declared = manifest_scopes()
    assert sorted(SlackCredentials().scopes) == sorted(declared)
    assert {"channels:read", "groups:read"} <= set(declared)  # conversations.info for the membership check


async def test_a_reconnect_answered_with_something_not_json_logs_what_came_back(
        fake: FakeSlack, caplog: pytest.LogCaptureFixture):
    """A proxy answering apps.connections.open while Socket Mode reconnects was logged as "no new connection
    (NotJson)": an operator could not tell a proxy page from Slack's own refusal. The line says what came back."""
    import logging

    from adapters.slack.slack_poster import NotJson, make_web_client
    from adapters.slack.slack_socket import BackoffSocketModeClient, socket_logger
    from tests.fakes.http_server import Reply

    fake.route("POST", "/api/apps.connections.open", Reply(200, b"proxy says hello", {"Content-Type": "text/plain"}))
    web = make_web_client(base_url=fake.api_url)
    client = BackoffSocketModeClient(app_token="xapp-secret-token", web_client=web, sleep=Sleeps(0.0),
                                     logger=socket_logger())
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(NotJson):
            await client.issue_new_wss_url()
    finally:
        await client.close()
    (line,) = [r.getMessage() for r in caplog.records if "no new connection" in r.getMessage()]
    assert "apps.connections.open" in line and "not JSON" in line and "proxy says hello" in line, line
    assert "NotJson" not in line
    # slack_sdk's own line about it too: one line each, no traceback, never the token.
    for record in caplog.records:
        assert "\n" not in record.getMessage() and record.exc_info is None, record.getMessage()
        assert "xapp-secret-token" not in record.getMessage()
