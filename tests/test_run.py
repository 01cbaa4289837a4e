"""`paperboy run` as operators run it: a real process with the console adapter and the scheduler; SIGTERM;
/healthz and /metrics; no token in any log line at any level."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.cli_runner import ROOT, paperboy
from tests.fakes.fake_openai import FakeOpenAI, hanging
from tests.fakes.http_server import FakeServer, Reply

SLACK_TOKEN = "xoxb-1234567890-abcdefghijklmnopqrstuv"
LLM_KEY = "sk-test-0123456789abcdefghijklmnop"
URL_PASSWORD = "hunter2-in-the-url"


_offline_hf: FakeServer | None = None


def offline_hf() -> str:
    """A Hugging Face with no papers yet, for the daily ingest a bot started on a weekday after the ingest time
    catches up on at once: tests never reach the real one."""
    global _offline_hf
    if _offline_hf is None:
        _offline_hf = FakeServer().__enter__()
        _offline_hf.route("GET", "/api/daily_papers", Reply(200, b"[]"))
    return _offline_hf.url


def start(env: dict[str, str]) -> subprocess.Popen[str]:
    """Output goes to files, not pipes: a chatty DEBUG log must never block the bot on a full pipe."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "SLACK_", "DISCORD_"))}
    full["PAPERBOY_HF_BASE_URL"] = offline_hf()
    full.update(env)
    full.setdefault("PYTHONPATH", str(ROOT))
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=full, cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=out, stderr=err, text=True)
    proc.files = (out, err)  # type: ignore[attr-defined]
    return proc


def stop(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=timeout)
    return (proc.returncode, *_read(proc))


def so_far(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """What a running process has written: pread leaves the file offset it shares with the process alone."""
    texts = []
    for handle in proc.files:  # type: ignore[attr-defined]
        size = os.fstat(handle.fileno()).st_size
        texts.append(os.pread(handle.fileno(), size, 0).decode("utf-8", "replace"))
    return texts[0], texts[1]


def wait_for_log(proc: subprocess.Popen[str], line: str, seconds: float = 120.0) -> None:
    """Readiness is what the process says, never a fixed sleep: a busy machine can take many seconds to start."""
    if not wait_for(lambda: line in so_far(proc)[1] or proc.poll() is not None, seconds) or line not in so_far(
            proc)[1]:
        raise AssertionError(f"no {line!r} within {seconds} s (exit {proc.poll()}):\n{so_far(proc)[1][-3000:]}")


def due_now(db_env: dict[str, str]) -> None:
    """A channel whose digest time has just passed, every day of the week."""
    at = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%H:%M")
    assert paperboy("ingest", "--sample", env=db_env).code == 0
    result = paperboy("say", f"/papers digest {at} UTC mon-sun", "--channel", "ops", env=db_env)
    assert "Daily digest for this channel at" in result.out, result.out


def wait_for(predicate, seconds: float = 120.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_posts_the_digest_at_its_time_and_sigterm_stops_cleanly(db_env):
    due_now(db_env)
    env = {**db_env, "PAPERBOY_TICK_SECONDS": "0.5"}
    proc = start(env)
    wait_for_log(proc, "first digest check done: 1 posted")
    code, out, err = stop(proc)
    assert code == 0, err
    assert out.count("— #ops —") == 1 and "Paperboy · " in out
    assert "stopped cleanly" in err and "Traceback" not in err
    again = start(env)
    wait_for_log(again, "first digest check done")
    code, out, err = stop(again)
    assert code == 0 and "— #ops —" not in out  # already posted: never twice
    status = paperboy("digest", "status", env=db_env)
    assert "console:local:ops" in status.out and "posted" in status.out


def test_sigterm_during_a_digest_run_loses_nothing_and_posts_nothing_twice(db_env):
    due_now(db_env)
    with FakeOpenAI() as llm:
        llm.always(hanging(30))
        env = {**db_env, "PAPERBOY_TICK_SECONDS": "0.5", "PAPERBOY_LLM_BASE_URL": llm.base_url,
               "PAPERBOY_DIGEST_TLDR_DEADLINE": "3"}
        proc = start(env)
        assert wait_for(lambda: len(llm.calls) > 0), "the digest run never started"
        code, out, err = stop(proc)  # while the run waits for TL;DRs
        assert code == 0, err
        assert out.count("— #ops —") == 1 and "TL;DR:" in out
        again = start(env)
        wait_for_log(again, "first digest check done")
        code, out, err = stop(again)
    assert code == 0 and "— #ops —" not in out


def test_healthz_metrics_and_no_secret_in_any_log_line(db_env):
    due_now(db_env)
    port = free_port()
    with FakeOpenAI() as llm:
        # A password inside a URL: httpx logs every request URL at INFO.
        llm_url = llm.base_url.replace("http://", f"http://summaries:{URL_PASSWORD}@")
        env = {**db_env, "PAPERBOY_TICK_SECONDS": "0.5", "PAPERBOY_HTTP_PORT": str(port),
               "PAPERBOY_LOG_LEVEL": "DEBUG", "PAPERBOY_LOG_FORMAT": "json",
               "PAPERBOY_LLM_BASE_URL": llm_url, "PAPERBOY_LLM_API_KEY": LLM_KEY}
        proc = start(env)
        try:
            wait_for_log(proc, f"serving /healthz and /metrics on 127.0.0.1:{port}")  # loopback by default
            wait_for_log(proc, "paperboy running")  # until then the scheduler is "starting" (503)
            health = _get(port, "/healthz")
            assert health is not None and health.status_code == 200
            assert health.json() == {"status": "ok", "database": "ok", "scheduler": "ok"}
            wait_for_log(proc, "first digest check done: 1 posted")
            metrics = _get(port, "/metrics")
            assert metrics is not None and metrics.status_code == 200
            assert "paperboy_digests_total" in metrics.text and "paperboy_scheduler_alive 1.0" in metrics.text
            assert 'paperboy_digests_total{status="posted"} 1.0' in metrics.text
        finally:
            code, out, err = stop(proc)
        assert llm.calls, "the digest never asked the LLM, so its URL was never logged"
    assert code == 0
    assert err.strip(), "DEBUG logging produced nothing"
    assert "http://summaries:•••@127.0.0.1" in err
    for secret in (LLM_KEY, LLM_KEY[3:], URL_PASSWORD):
        assert secret not in err and secret not in out
    assert all(line.startswith("{") for line in err.strip().splitlines())


def test_sigterm_while_still_starting_stops_cleanly(db_env):
    """The handlers are the first thing `paperboy run` installs: a SIGTERM during migrations is a clean stop
    (exit 0), not a kill (-15) that leaves no trace in the log."""
    proc = start({**db_env, "PAPERBOY_LOG_LEVEL": "DEBUG"})
    wait_for_log(proc, "Using selector")  # asyncio.run has begun: the app is opening the database
    code, _out, err = stop(proc)
    assert code == 0, err[-3000:]
    assert "stopped cleanly" in err and "Traceback" not in err


@pytest.mark.parametrize("variable", ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"])
def test_half_configured_slack_is_one_clear_line_without_the_token(db_env, variable):
    """Only one of the two Socket Mode tokens: never a silent start without Slack (issue 15, Slack item 7)."""
    token = SLACK_TOKEN if variable == "SLACK_BOT_TOKEN" else SLACK_APP
    env = {**db_env, variable: token, "PAPERBOY_LOG_LEVEL": "DEBUG"}
    proc = start(env)
    code = proc.wait(timeout=60)
    out, err = _read(proc)
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("error: Slack is half configured: set SLACK_BOT_TOKEN and "
                                                   "SLACK_APP_TOKEN")
    assert token not in err and token not in out and "Traceback" not in err


def _read(proc: subprocess.Popen[str]) -> tuple[str, str]:
    texts = []
    for handle in proc.files:  # type: ignore[attr-defined]
        handle.seek(0)
        texts.append(handle.read())
        handle.close()
    return texts[0], texts[1]


def _get(port: int, path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
    except httpx.HTTPError:
        return None


def test_a_run_killed_between_posting_and_recording_never_posts_again(db_env, backend):
    """The crash window with a real process: the digest is out, the completion is held by a row lock from
    another PostgreSQL session, the process is killed (SIGKILL). After its lease, the next run finds the digest
    the dead process posted (the console's delivery log) and records it instead of posting it again."""
    if backend != "postgresql":
        pytest.skip("the window is held open with a PostgreSQL row lock")
    from tests.conftest import POSTGRES_URL

    due_now(db_env)
    schema = db_env["PAPERBOY_DATABASE_SCHEMA"]
    # client_connection_check_interval: the server drops the lock as soon as the killed psql is gone
    lock_sql = (f'SET client_connection_check_interval = 100; SET search_path TO "{schema}"; BEGIN; '
                "SELECT id FROM deliveries WHERE status = 'claimed' FOR UPDATE; SELECT pg_sleep(600);")
    with FakeOpenAI() as llm:
        llm.always(hanging(60))
        env = {**db_env, "PAPERBOY_TICK_SECONDS": "0.5", "PAPERBOY_LLM_BASE_URL": llm.base_url,
               "PAPERBOY_DIGEST_TLDR_DEADLINE": "4", "PAPERBOY_DIGEST_LEASE_SECONDS": "5"}
        proc = start(env)
        locker = None
        try:
            assert wait_for(lambda: len(llm.calls) > 0), "the digest run never started"  # claimed, composing
            locker = subprocess.Popen(["psql", POSTGRES_URL, "-v", "ON_ERROR_STOP=1", "-c", lock_sql],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            assert wait_for(lambda: "— #ops —" in so_far(proc)[0]), "the digest was never posted"
            proc.kill()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            if locker is not None:
                locker.kill()
                locker.wait(timeout=60)
        first_out = _read(proc)[0]
        assert first_out.count("— #ops —") == 1
        status = paperboy("digest", "status", env=env)
        assert "claim" in status.out, status.out  # posted, never recorded: the completion was held
        assert wait_for(lambda: "lease expired" in paperboy("digest", "status", env=env).out, 120)
        day = datetime.now(UTC).date().isoformat()
        rerun = paperboy("digest", "run", "--date", day, env=env)
    assert rerun.code == 0, rerun.err
    assert "— #ops —" not in rerun.out  # found on the platform, not posted again
    assert f"console:local:ops {day}: posted" in rerun.out, rerun.out
    final = paperboy("digest", "status", env=env).out
    assert "claim" not in final and "posted" in final


# -- starting and staying up: a real Discord connection against the fake REST API and gateway ---------------

DISCORD_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


@pytest.fixture
def discord_fakes():
    from tests.fakes.fake_discord import API, FakeDiscord, FakeGateway

    with FakeDiscord() as rest, FakeGateway() as gateway:
        rest.token = DISCORD_TOKEN
        yield rest, gateway, {"PAPERBOY_DISCORD_TOKEN": DISCORD_TOKEN, "PAPERBOY_DISCORD_API_URL": rest.url + API,
                              "PAPERBOY_DISCORD_GATEWAY_URL": gateway.url}


def ends_with_one_line(env: dict[str, str], seconds: float = 120) -> str:
    """`paperboy run` that must not stay up: exit 2, the last line is the one error line, and no traceback."""
    proc = start(env)
    code = proc.wait(timeout=seconds)
    out, err = _read(proc)
    assert code == 2, err[-3000:]
    assert "Traceback" not in err and DISCORD_TOKEN not in err + out, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0], err[-3000:]
    return errors[0]


def test_a_rejected_discord_token_ends_run_with_one_line(db_env, discord_fakes):
    _rest, gateway, env = discord_fakes
    line = ends_with_one_line({**db_env, **env, "PAPERBOY_DISCORD_TOKEN": DISCORD_TOKEN[:-2] + "XY"})
    assert line.startswith("error: Discord rejected the bot token (PAPERBOY_DISCORD_TOKEN)"), line
    assert not gateway.identified  # never got as far as the gateway


def test_a_privileged_intent_the_portal_did_not_enable_ends_run_with_one_line(db_env, discord_fakes):
    _rest, gateway, env = discord_fakes
    gateway.close_code = 4014
    line = ends_with_one_line({**db_env, **env, "PAPERBOY_DISCORD_MESSAGE_CONTENT": "true"})
    assert line.startswith("error: Discord closed the gateway (4014): the Message Content intent is not enabled")
    assert "PAPERBOY_DISCORD_MESSAGE_CONTENT=false" in line
    assert gateway.identified[0]["intents"] & (1 << 15)  # it did ask for the intent


def test_an_unreachable_gateway_ends_run_with_one_line(db_env, discord_fakes):
    _rest, gateway, env = discord_fakes
    gateway.refusing = True
    line = ends_with_one_line({**db_env, **env})
    assert line == "error: Discord's gateway could not be reached", line


def test_a_discord_that_does_not_answer_ends_run_after_the_startup_timeout(db_env, discord_fakes):
    from tests.fakes.fake_discord import API

    rest, _gateway, env = discord_fakes
    rest.fail(rf"^{API}/users/@me$", Reply(200, b"{}", delay=60))  # logging in hangs
    started = time.monotonic()
    line = ends_with_one_line({**db_env, **env, "PAPERBOY_STARTUP_TIMEOUT": "4"})
    assert line == ("error: discord: not connected within 4 s (PAPERBOY_STARTUP_TIMEOUT); "
                    "the log says what was tried")
    assert time.monotonic() - started >= 4


def test_sigterm_while_discord_does_not_answer_stops_at_once_not_after_the_startup_timeout(db_env, discord_fakes):
    """An operator stopping a bot whose platform hangs: the stop is prompt and clean, one line, exit 0."""
    from tests.fakes.fake_discord import API

    rest, gateway, env = discord_fakes
    rest.fail(rf"^{API}/users/@me$", Reply(200, b"{}", delay=600))  # logging in never ends
    proc = start({**db_env, **env, "PAPERBOY_STARTUP_TIMEOUT": "600"})
    try:
        wait_for_log(proc, "connecting: discord")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)  # far below the start-up timeout
    finally:
        if proc.poll() is None:
            proc.kill()
    out, err = _read(proc)
    assert proc.returncode == 0, err[-3000:]
    assert err.count("asked to stop while starting; stopped cleanly") == 1, err[-3000:]
    assert "Traceback" not in err and "error:" not in err and DISCORD_TOKEN not in err + out, err[-3000:]
    assert not gateway.identified


def test_healthz_names_the_platform_that_is_down_while_the_scheduler_goes_on(db_env, discord_fakes):
    _rest, gateway, env = discord_fakes
    port = free_port()
    proc = start({**db_env, **env, "PAPERBOY_TICK_SECONDS": "0.5", "PAPERBOY_HTTP_PORT": str(port)})
    try:
        wait_for_log(proc, f"serving /healthz and /metrics on 127.0.0.1:{port}")
        wait_for_log(proc, "paperboy running")  # until then the scheduler is "starting" (503)
        health = _get(port, "/healthz")
        assert health is not None and health.status_code == 200, so_far(proc)[1][-3000:]
        assert health.json() == {"status": "ok", "database": "ok", "scheduler": "ok", "discord": "ok"}

        gateway.drop(refuse=True)  # Discord goes away: the client retries with backoff
        assert wait_for(lambda: (h := _get(port, "/healthz")) is not None and h.status_code == 503)
        down = _get(port, "/healthz")
        assert down is not None
        assert down.json() == {"status": "unhealthy", "database": "ok", "scheduler": "ok", "discord": "reconnecting"}
        due_now(db_env)  # meanwhile the console's digest is due: the scheduler posts it
        assert wait_for(lambda: "— #ops —" in so_far(proc)[0]), so_far(proc)[1][-3000:]

        gateway.restore()
        assert wait_for(lambda: (h := _get(port, "/healthz")) is not None and h.status_code == 200, 60)
        assert gateway.resumed >= 1

        gateway.drop(refuse=False, code=4014)  # a close reconnecting cannot fix: down, and the log says why
        assert wait_for(lambda: (h := _get(port, "/healthz")) is not None and h.json().get("discord") == "down")
        assert _get(port, "/healthz").status_code == 503  # type: ignore[union-attr]
        wait_for_log(proc, "Discord is down: Discord closed the gateway (4014)")
    finally:
        code, out, err = stop(proc)
    assert code == 0 and "Traceback" not in err, err[-3000:]
    assert DISCORD_TOKEN not in err + out


# -- any one broken credential: one line and exit 2; a broken LLM key is not fatal -------------------------------

SLACK_APP = "xapp-1-A0123456789-0123456789012-abcdef0123456789"


@pytest.fixture
def slack_fake():
    from tests.fakes.fake_slack import FakeSlack

    with FakeSlack() as fake:
        yield fake


@pytest.mark.parametrize(("broken", "expected"), [
    ({"SLACK_BOT_TOKEN": "xoxb-revoked-0123456789", "SLACK_APP_TOKEN": SLACK_APP},
     "error: Slack rejected SLACK_BOT_TOKEN (auth.test: invalid_auth)"),
    ({"SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_APP_TOKEN": "xapp-1-revoked-0123456789"},
     "error: Slack rejected SLACK_APP_TOKEN (apps.connections.open: invalid_auth)"),
    ({"SLACK_BOT_TOKEN": "xoxb-revoked-0123456789", "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99a0b1c2d385"},
     "error: Slack rejected SLACK_BOT_TOKEN (auth.test: invalid_auth)"),
    # The verification token pasted for the signing secret: nothing at Slack can check it before a request comes.
    ({"SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": "AbCdEfGhIjKlMnOpQrStUvWx"},
     "error: SLACK_SIGNING_SECRET is not a signing secret (32 letters and digits, from the app's Basic "
     "Information → App Credentials): Slack's requests would all be refused"),
], ids=["bot-token-socket-mode", "app-token", "bot-token-http-mode", "signing-secret-http-mode"])
def test_paperboy_run_with_one_broken_slack_credential_exits_with_one_line(db_env, slack_fake, broken, expected):
    slack_fake.rejected_tokens |= {v for v in broken.values() if "revoked" in v}
    env = {**db_env, **broken, "PAPERBOY_SLACK_API_URL": slack_fake.api_url, "PAPERBOY_HTTP_PORT": str(free_port())}
    proc = start(env)
    code = proc.wait(timeout=120)
    out, err = _read(proc)
    assert code == 2, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [expected] and err.strip().splitlines()[-1] == expected, err[-3000:]
    assert "Traceback" not in err
    for secret in broken.values():
        assert secret not in out + err.replace(expected, "")


def test_paperboy_run_with_slack_unreachable_exits_with_one_line(db_env):
    """Before issue 15 Socket Mode retried forever here, before the scheduler and /healthz had started."""
    api = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    proc = start({**db_env, "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_APP_TOKEN": SLACK_APP,
                  "PAPERBOY_SLACK_API_URL": api})
    code = proc.wait(timeout=120)
    out, err = _read(proc)
    assert code == 2, err[-3000:]
    assert err.strip().splitlines()[-1].startswith(f"error: Slack unreachable at {api} (auth.test: "), err[-3000:]
    assert "Traceback" not in err and SLACK_TOKEN not in out + err and SLACK_APP not in out + err


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://paperboy:{password}@127.0.0.1:{port}/paperboy", "error: cannot open database "),
    ("mysql://paperboy:{password}@db/paperboy", "error: unsupported database 'mysql': use SQLite or PostgreSQL"),
    ("not-a-url", "error: not a database URL: 'not-a-url'"),
], ids=["unreachable", "unsupported", "malformed"])
def test_paperboy_run_with_a_bad_database_url_exits_with_one_line(url, expected):
    url = url.format(password=URL_PASSWORD, port=free_port())
    proc = start({"PAPERBOY_DATABASE_URL": url, "PAPERBOY_LOG_LEVEL": "DEBUG"})
    code = proc.wait(timeout=120)
    out, err = _read(proc)
    assert code == 2, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(expected) and [line for line in err.splitlines() if line.startswith("error:")] == [last]
    assert "Traceback" not in err and URL_PASSWORD not in out + err, err[-3000:]


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", "address already in use"),
    ("192.0.2.1", ""),  # TEST-NET-1: never this machine's (a 300-character host is refused as a setting now)
], ids=["port taken", "a host that is not ours"])
def test_an_ops_port_it_cannot_listen_on_ends_run_with_one_line(db_env, host, expected):
    """PAPERBOY_HTTP_PORT taken by another process (a second bot, a stale one), or a host that is not this
    machine's: one line naming the settings, exit 2, instead of a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = start({**db_env, "PAPERBOY_HTTP_PORT": str(port), "PAPERBOY_HTTP_HOST": host})
        code = proc.wait(timeout=120)
    _out, err = _read(proc)
    assert code == 2, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot listen on {host[:80]}:{port} (PAPERBOY_HTTP_HOST, PAPERBOY_HTTP_PORT): ")
    assert expected in last and len(last) < 400 and "Traceback" not in err, err[-3000:]
    assert [line for line in err.splitlines() if line.startswith("error:")] == [last]


def test_a_rejected_llm_key_is_not_fatal_the_digest_posts_with_offline_summaries(db_env):
    """The LLM is optional: a wrong key must not stop the bot, only its summaries fall back to offline ones."""
    due_now(db_env)
    port = free_port()
    rejected = Reply(401, b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", '
                          b'"code": "invalid_api_key"}}')
    with FakeOpenAI() as llm:
        llm.always(rejected)
        proc = start({**db_env, "PAPERBOY_TICK_SECONDS": "0.5", "PAPERBOY_HTTP_PORT": str(port),
                      "PAPERBOY_LLM_BASE_URL": llm.base_url, "PAPERBOY_LLM_API_KEY": LLM_KEY})
        try:
            wait_for_log(proc, "first digest check done: 1 posted")
            health = _get(port, "/healthz")
            assert health is not None and health.status_code == 200, so_far(proc)[1][-3000:]
            assert proc.poll() is None
        finally:
            code, out, err = stop(proc)
        assert llm.calls, "the LLM was never asked, so its key was never rejected"
    assert code == 0 and "Traceback" not in err, err[-3000:]
    assert out.count("— #ops —") == 1 and "TL;DR:" in out
    assert LLM_KEY not in out + err


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_the_log_leaves_out_libraries_routine_chatter_unless_debugging(level):
    """Each minute APScheduler logged "Running job …" and "… executed successfully" for every job at INFO (and
    alembic "setup plugin …" at each start): at a console prompt and in operators' logs they buried what matters."""
    import io
    import logging

    from bot.logging_setup import configure_logging

    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level,
             {n: logging.getLogger(n).level for n in ("apscheduler", "alembic.runtime.plugins")})
    try:
        configure_logging(level=level, stream=stream)
        logging.getLogger("apscheduler.executors.default").info('Running job "BotScheduler.tick"')
        logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate.schemas")
        logging.getLogger("apscheduler.executors.default").warning("Run time of job was missed")
        logging.getLogger("bot.scheduling").info("first digest check done: nothing due")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, was in saved[2].items():
            logging.getLogger(name).setLevel(was)
    logged = stream.getvalue()
    assert "Run time of job was missed" in logged and "first digest check done" in logged
    assert ("Running job" in logged and "setup plugin" in logged) is (level == "DEBUG")
