"""The operator's documents agree with the code: `.env.example` names every setting `bot/config.py` reads and
nothing else, its example values are the real defaults, and README.md, the deploy guides, compose file,
Dockerfile and systemd unit name only variables that exist, with the defaults the code has; every `paperboy …`
command line they show is one the command line takes. A renamed or removed setting (the Slack port that was
documented nowhere, a variable the code no longer reads), a changed default or a renamed option fails here
instead of in an operator's deploy."""

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



def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, database_url="unused", **values)  # type: ignore[call-arg]


def documented_defaults() -> list[tuple[str, str, str]]:
    """(doc, variable, default) for every default the operator's documents state: the rows of README's
    settings tables (`| `VARIABLE` | default | meaning |`) and prose such as "`PAPERBOY_X` (default 6)"."""
    found = []
    for doc in OPERATOR_DOCS:
        text = (ROOT / doc).read_text()
        for m in re.finditer(r"^\| `([A-Z][A-Z0-9_]+)`[^|]*\| ([^|]+) \|", text, re.M):
            found.append((doc, m[1], m[2].strip()))
        for m in re.finditer(r"`([A-Z][A-Z0-9_]+)`[^`.;]{0,20}?\bdefault (\d[\d.]*)", text):
            found.append((doc, m[1], f"`{m[2]}`"))
    return found


def test_the_defaults_the_documents_state_are_the_codes(monkeypatch):
    """A default changed in bot/config.py (or mistyped in a doc) made the tables promise another behaviour."""
    for name in every_name():
        monkeypatch.delenv(name, raising=False)
    fields = {name: field for field in Settings.model_fields for name in names_of(field)}
    defaults = _settings()
    checked, wrong = 0, []
    for doc, variable, stated in documented_defaults():
        field = fields.get(variable)
        if field is None:
            continue  # a variable outside Settings; test_operator_documents_name_only_variables_the_code_reads
        literal = re.fullmatch(r"`([^`]+)`", stated)
        if stated in ("(none)", "unset"):
            expected = None
        elif literal and not re.fullmatch(r"[A-Z][A-Z0-9_]+", literal[1]):  # not "defaults to another variable"
            expected = getattr(_settings(**{field: literal[1]}), field)
        else:
            continue  # words ("SQLite file in your data directory")
        checked += 1
        if getattr(defaults, field) != expected:
            wrong.append(f"{doc}: {variable} default {stated}, the code's is {getattr(defaults, field)!r}")
    assert checked >= 20, checked  # the tables were read
    assert not wrong, wrong


DOCS_WITH_COMMANDS = ["README.md", ".env.example",
                      *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("deploy/**/*.md"))]


def documented_command_lines() -> list[tuple[str, list[str]]]:
    """(doc, words) for every `paperboy …` or `./run …` the documents show, in code spans and shell blocks."""
    import shlex

    found = []
    for doc in DOCS_WITH_COMMANDS:
        text = (ROOT / doc).read_text()
        assignments = r"(?:[A-Z][A-Z0-9_]*=\S* )*"  # `SLACK_BOT_TOKEN=xoxb-… ./run run`
        snippets = re.findall(rf"`{assignments}((?:\./run|paperboy) [^`]+)`", text)
        snippets += re.findall(rf"^\s*{assignments}((?:\./run|paperboy) .+)$", text, re.M)
        for snippet in snippets:
            line = snippet.split("  #", 1)[0].replace("[", " ").replace("]", " ").replace("…", " ")
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            found.append((doc, words[1:]))
    return found


def test_every_command_line_the_documents_show_is_one_paperboy_takes():
    """A renamed command or option in the docs (`digest run --day`, `topics feedback --good`) fails here instead
    of at the first person who copies it."""
    import typer

    from bot.cli.app import build_cli

    checked, wrong = 0, []
    for doc, words in documented_command_lines():
        if not words or words[0] in ("tests", "test") or re.fullmatch(r"[A-Z_]+", words[0]):
            continue  # ./run tests is pytest's; `paperboy COMMAND …` is a placeholder
        command = typer.main.get_command(build_cli(words[0]))
        path: list[str] = []
        for word in words:
            if hasattr(command, "commands") and not word.startswith("-"):  # a group: the word names a command
                sub = command.commands.get(word)
                if sub is None:
                    wrong.append(f"{doc}: paperboy {' '.join([*path, word])}: no such command")
                    break
                command, path = sub, [*path, word]
                continue
            if word.startswith("--"):
                known = {"--help"} | {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
                if word.split("=", 1)[0] not in known:
                    wrong.append(f"{doc}: paperboy {' '.join(path)} has no option {word}")
        else:
            checked += 1
    assert checked >= 40, checked
    assert not wrong, wrong


def test_the_discord_guide_lists_every_papers_subcommand_discord_has():
    """The guide's one-line list of `/papers` subcommands missed `feedback` when it was added: Discord's
    /papers group is the table's entries (less those that are commands of their own there, like /digest)."""
    from bot.commands.command_table import slash_command

    papers = slash_command("papers")
    assert papers is not None
    listed = re.search(r"Commands: `/papers ([a-z|]+)`", (ROOT / "deploy/discord/README.md").read_text())
    assert listed is not None
    assert set(listed[1].split("|")) == {e.sub for e in papers.entries if e.sub and not e.own_command}


def test_the_slack_guide_names_every_scope_the_manifest_asks_for():
    """The guide's "Scopes (all in manifest.yml)" list left out channels:read and groups:read, which an operator
    reviewing an install (or a security team) then found in Slack's consent screen unexplained."""
    from tests.test_command_table import manifest_scopes

    declared = manifest_scopes()
    guide = (ROOT / "deploy/slack/README.md").read_text()
    listed = re.search(r"^- Scopes \(all in `manifest.yml`\):(.*?)(?=^- )", guide, re.M | re.S)
    assert listed is not None and declared
    assert [s for s in declared if f"`{s}`" not in listed[1]] == []
