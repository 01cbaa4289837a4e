"""`paperboy config check`: everything that can be validated without sending a message, one line per problem."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from bot.clock import load_timezone
from bot.config import Settings
from bot.errors import PaperboyError
from bot.redaction import mask_url_credentials
from storage.database import Database

_SLACK_SIGNING = re.compile(r"^[0-9a-f]{32}$")
_DISCORD_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$")


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)


def _value(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value().strip() if secret is not None and secret.get_secret_value().strip() else None


def check_token_shapes(settings: Settings, report: Report) -> None:
    shapes = [
        ("SLACK_BOT_TOKEN", _value(settings.slack_bot_token), lambda v: v.startswith("xoxb-") and len(v) > 20,
         "should start with xoxb- (the Bot User OAuth Token)"),
        ("SLACK_APP_TOKEN", _value(settings.slack_app_token), lambda v: v.startswith("xapp-") and len(v) > 20,
         "should start with xapp- (an app-level token with connections:write, for Socket Mode)"),
        ("SLACK_SIGNING_SECRET", _value(settings.slack_signing_secret), lambda v: bool(_SLACK_SIGNING.match(v)),
         "should be 32 hexadecimal characters (Basic Information → Signing Secret)"),
        ("DISCORD_TOKEN", _value(settings.discord_token), lambda v: bool(_DISCORD_TOKEN.match(v)),
         "does not look like a bot token (three dot-separated parts, from Developer Portal → Bot)"),
    ]
    for name, value, ok, hint in shapes:
        if value is not None and not ok(value):  # type: ignore[no-untyped-call]
            report.problems.append(f"{name}: bad token shape — {hint}")


async def check_llm(settings: Settings, report: Report, wait_seconds: float = 5.0) -> None:
    if not settings.llm_configured:
        report.plan.append("summaries: offline (no LLM configured)")
        return
    url = (settings.llm_base_url or "https://api.openai.com/v1").rstrip("/")
    base = mask_url_credentials(url)  # what the report shows
    headers = {}
    if key := _value(settings.llm_api_key):
        headers["Authorization"] = f"Bearer {key}"
    try:
        async with httpx.AsyncClient(timeout=wait_seconds) as client:
            response = await client.get(f"{url}/models", headers=headers)
    except httpx.HTTPError as exc:
        report.problems.append(f"LLM endpoint {base}: unreachable ({type(exc).__name__})")
        return
    if response.status_code in (401, 403):
        report.problems.append(f"LLM endpoint {base}: the API key was rejected (HTTP {response.status_code})")
    elif response.status_code >= 500:
        report.problems.append(f"LLM endpoint {base}: answered HTTP {response.status_code}")
    else:
        report.plan.append(f"summaries: {settings.llm_model} at {base} (reachable)")


async def run_checks(settings: Settings) -> Report:
    report = await _checks(settings)
    # Every line, whatever produced it (a driver's error quoting the URL, say), is printed to a terminal.
    report.plan = [mask_url_credentials(line) for line in report.plan]
    report.problems = [mask_url_credentials(line) for line in report.problems]
    return report


async def _checks(settings: Settings) -> Report:
    report = Report()
    try:
        load_timezone(settings.timezone)
    except PaperboyError as exc:
        report.problems.append(f"PAPERBOY_TIMEZONE: {exc}")
    check_token_shapes(settings, report)
    db = None
    try:
        db = Database(settings.database_url, schema=settings.database_schema)
        await db.upgrade()
        report.plan.append(f"database: {db.describe()} (reachable, schema up to date)")
    except PaperboyError as exc:
        report.problems.append(f"database: {exc}")
    finally:
        if db is not None:
            await db.dispose()
    await check_llm(settings, report)
    slack = _value(settings.slack_bot_token)
    if slack and _value(settings.slack_app_token):
        report.plan.append("slack: Socket Mode (one workspace)")
    elif _value(settings.slack_signing_secret) and (slack or settings.slack_client_id):
        if settings.http_port:
            report.plan.append(f"slack: HTTP mode, /slack/events on port {settings.http_port} (with /healthz)")
        else:
            report.problems.append("slack: HTTP mode needs PAPERBOY_HTTP_PORT (the port /slack/events is served on)")
    if _value(settings.discord_token):
        report.plan.append("discord: " + ("AutoShardedClient" if settings.discord_sharded else "Client"))
    if not any(line.startswith(("slack", "discord")) for line in report.plan) or settings.console:
        report.plan.append(f"console: channel #{settings.console_channel}")
    report.plan.append(f"scheduler: digests checked every {settings.tick_seconds:g} s, default 09:00 "
                       f"{settings.timezone}; daily ingest at {settings.ingest_time} (retrying until "
                       f"{settings.ingest_until_hour}:00)")
    if settings.http_port:
        report.plan.append(f"http: /healthz and /metrics on {settings.http_host}:{settings.http_port}")
    return report
