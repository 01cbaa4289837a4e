"""The operator's documents agree with the code: `.env.example` names every setting `bot/config.py` reads and
nothing else, its example values are the real defaults, and README.md, the deploy guides, compose file,
Dockerfile and systemd unit name only variables that exist. A renamed or removed setting (the Slack port that
was documented nowhere, a variable the code no longer reads) fails here instead of in an operator's deploy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import AliasChoices

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
VARIABLE = re.compile(r"\b(?:PAPERBOY|SLACK|DISCORD)_[A-Z0-9_]+\b")
# Read outside `Settings`, on purpose: a debugging switch (tracebacks instead of one line), and the test suite's
# PostgreSQL. Only the first belongs in .env.example.
OUTSIDE_SETTINGS = {"PAPERBOY_DEBUG": ".env.example", "PAPERBOY_TEST_POSTGRES_URL": "README.md"}


def names_of(field: str) -> list[str]:
    """Every variable that sets a field, preferred first."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return [c for c in alias.choices if isinstance(c, str)]
    return [f"PAPERBOY_{field.upper()}"]


def every_name() -> set[str]:
    return {name for field in Settings.model_fields for name in names_of(field)}


def env_example() -> dict[str, str | None]:
    """Each variable `.env.example` shows, set (`NAME=value`) or commented out (`# NAME=…`, value None)."""
    shown: dict[str, str | None] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if m := re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line):
            shown[m[1]] = m[2]
        elif m := re.fullmatch(r"#\s*([A-Z][A-Z0-9_]*)=.*", line):
            shown.setdefault(m[1], None)
    return shown


def test_env_example_names_every_setting_and_nothing_else():
    shown = set(env_example())
    undocumented = [names_of(f)[0] for f in Settings.model_fields if not shown & set(names_of(f))]
    assert not undocumented, f"settings missing from .env.example: {undocumented}"
    unknown = shown - every_name() - set(OUTSIDE_SETTINGS)
    assert not unknown, f".env.example names variables the code does not read: {sorted(unknown)}"
    assert {n for n, where in OUTSIDE_SETTINGS.items() if where == ".env.example"} <= shown


def test_the_values_env_example_sets_are_the_defaults(monkeypatch):
    """Copying .env.example to .env changes nothing: every uncommented value is what the code does anyway."""
    for name in every_name():
        monkeypatch.delenv(name, raising=False)
    assert env_example(), "nothing parsed"
    copied = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    defaults = Settings(_env_file=None, database_url="unused")  # type: ignore[call-arg]
    differing = {f: (getattr(copied, f), getattr(defaults, f)) for f in Settings.model_fields
                 if f != "database_url" and getattr(copied, f) != getattr(defaults, f)}
    assert not differing, f".env.example sets values other than the defaults: {differing}"


OPERATOR_DOCS = ["README.md", ".env.example", "deploy/compose.yaml", "deploy/Dockerfile",
                 "deploy/systemd/paperboy.service", "deploy/SCALING.md", *sorted(
                     str(p.relative_to(ROOT)) for p in (ROOT / "deploy").rglob("README.md"))]


@pytest.mark.parametrize("doc", OPERATOR_DOCS)
def test_operator_documents_name_only_variables_the_code_reads(doc):
    mentioned = set(VARIABLE.findall((ROOT / doc).read_text()))
    unknown = mentioned - every_name() - set(OUTSIDE_SETTINGS)
    assert not unknown, f"{doc} names variables the code does not read: {sorted(unknown)}"



def test_the_systemd_unit_keeps_its_sqlite_database_where_its_sandbox_lets_it_write():
    """ProtectSystem=strict and ProtectHome leave only the unit's StateDirectory writable. With the env file made
    from .env.example (no database URL), SQLite's default file is in the user's home: `config check` in
    ExecStartPre failed to open it, and systemd restarted the unit every 10 s, never running the bot."""
    from storage.urls import default_database_url, to_async_url

    unit: dict[str, list[str]] = {}
    for line in (ROOT / "deploy/systemd/paperboy.service").read_text().splitlines():
        if m := re.fullmatch(r"([A-Za-z]+)=(.*)", line.strip()):
            unit.setdefault(m[1], []).append(m[2])
    assert unit["ProtectSystem"] == ["strict"] and unit["ProtectHome"] == ["true"]
    environment = dict(v.split("=", 1) for value in unit.get("Environment", []) for v in value.split())
    url = environment.get("PAPERBOY_DATABASE_URL") or default_database_url()
    path = to_async_url(url).database or ""
    writable = [f"/var/lib/{name}/" for value in unit.get("StateDirectory", []) for name in value.split()]
    assert any(path.startswith(place) for place in writable), (path, writable)


def test_docker_and_systemd_wait_longer_than_a_stop_waits_for_a_digest_in_progress():
    """SIGTERM lets a digest run in progress finish its posts for up to `BotScheduler.drain`'s wait, then closes
    the platforms and the database. A container manager that kills sooner (compose's 2m was exactly that wait)
    cuts the clean stop short: the claims stay held until their lease runs out, and those digests come late."""
    import inspect

    from bot.scheduling import BotScheduler

    drain = inspect.signature(BotScheduler.drain).parameters["wait_seconds"].default
    compose = re.search(r"stop_grace_period:\s*(\d+)(s|m)\b", (ROOT / "deploy/compose.yaml").read_text())
    unit = re.search(r"^TimeoutStopSec=(\d+)$", (ROOT / "deploy/systemd/paperboy.service").read_text(), re.M)
    assert compose is not None and unit is not None
    compose_seconds = int(compose[1]) * (60 if compose[2] == "m" else 1)
    assert compose_seconds >= drain + 20 and int(unit[1]) >= drain + 20, (compose_seconds, unit[1], drain)


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1", None])
def test_the_image_healthcheck_asks_the_port_the_bot_listens_on(tmp_path, host):
    """The Dockerfile's HEALTHCHECK asked port 8080 whatever PAPERBOY_HTTP_PORT said: a container started with
    another port was marked unhealthy (and restarted by an orchestrator) while it served perfectly well."""
    import os
    import subprocess
    import sys

    from tests.fakes.http_server import FakeServer, Reply

    dockerfile = (ROOT / "deploy/Dockerfile").read_text().replace("\\\n", "")  # continued lines, as Docker joins them
    line = re.search(r"^HEALTHCHECK .*?\bCMD (.+)$", dockerfile, re.M)
    assert line is not None
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python").symlink_to(sys.executable)  # the image's `python`
    env = {"PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}

    def check(port: int) -> int:
        extra = {"PAPERBOY_HTTP_PORT": str(port)} | ({"PAPERBOY_HTTP_HOST": host} if host else {})
        return subprocess.run(["sh", "-c", line[1]], env=env | extra, capture_output=True, timeout=60).returncode

    with FakeServer() as server:
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        assert port != 8080
        server.route("GET", "/healthz", [Reply(200, b'{"status": "ok"}'), Reply(503, b'{"status": "unhealthy"}')])
        assert check(port) == 0
        assert check(port) != 0  # 503: unhealthy



def test_the_discord_guide_lists_every_papers_subcommand_discord_has():
    """The guide's one-line list of `/papers` subcommands missed `feedback` when it was added: Discord's
    /papers group is the table's entries (less those that are commands of their own there, like /digest)."""
    from bot.commands.command_table import slash_command

    papers = slash_command("papers")
    assert papers is not None
    listed = re.search(r"Commands: `/papers ([a-z|]+)`", (ROOT / "deploy/discord/README.md").read_text())
    assert listed is not None
    assert set(listed[1].split("|")) == {e.sub for e in papers.entries if e.sub and not e.own_command}
