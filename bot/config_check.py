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

# Slack's signing secrets are 32 hexadecimal characters in practice; any 32 letters and digits are taken (the
# runtime refuses the same shapes: one rule, adapters/slack/slack_runtime.py imports it).
SLACK_SIGNING_SECRET_SHAPE = re.compile(r"[0-9A-Za-z]{32}")
_DISCORD_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$")


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    # What may pass by itself (a service unreachable right now): said, but no reason not to start. The bot keeps
    # working without the LLM (offline summaries) and reconnects to the platforms; a systemd ExecStartPre of
    # `config check` must not keep it down because the LLM or Slack was unreachable at boot.
    warnings: list[str] = field(default_factory=list)


def _value(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value().strip() if secret is not None and secret.get_secret_value().strip() else None


def check_token_shapes(settings: Settings, report: Report) -> None:
    slack_tokens = [
        ("SLACK_BOT_TOKEN", _value(settings.slack_bot_token), "xoxb-", "the Bot User OAuth Token"),
        ("SLACK_APP_TOKEN", _value(settings.slack_app_token), "xapp-",
         "an app-level token with connections:write, for Socket Mode"),
    ]
    for name, value, prefix, what in slack_tokens:
        if value is None or (value.startswith(prefix) and len(value) > 20):
            continue
        # A cut copy starts right and is told so: "should start with xoxb-" sent people looking for another token.
        hint = (f"too short for a whole token (a cut copy?): copy all of {what}" if value.startswith(prefix)
                else f"should start with {prefix} ({what})")
        report.problems.append(f"{name}: bad token shape — {hint}")
    shapes = [
        ("SLACK_SIGNING_SECRET", _value(settings.slack_signing_secret),
         lambda v: bool(SLACK_SIGNING_SECRET_SHAPE.fullmatch(v)),
         "should be 32 letters and digits (Basic Information → Signing Secret)"),
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
        report.warnings.append(f"LLM endpoint {base}: unreachable ({type(exc).__name__}); summaries are offline "
                               "until it answers")
        return
    if response.status_code in (401, 403):
        report.problems.append(f"LLM endpoint {base}: the API key was rejected (HTTP {response.status_code})")
    elif response.status_code >= 500:
        report.warnings.append(f"LLM endpoint {base}: answered HTTP {response.status_code}; summaries are offline "
                               "until it answers")
    else:
        report.plan.append(f"summaries: {settings.llm_model} at {base} (reachable)")


SLACK_API = "https://slack.com/api/"
DISCORD_API = "https://discord.com/api/v10"
MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)  # GATEWAY_MESSAGE_CONTENT, GATEWAY_MESSAGE_CONTENT_LIMITED


async def _slack_call(base: str, method: str, token: str, wait_seconds: float) -> str | None:
    """A Web API method with a token: None when Slack accepts it, else Slack's error code (or why it could not
    be asked). Plain HTTP, like Slack documents it: the core does not import platform SDKs."""
    try:
        async with httpx.AsyncClient(timeout=wait_seconds) as client:
            response = await client.post(f"{base.rstrip('/')}/{method}", headers={"Authorization": f"Bearer {token}"})
        body = response.json()
    except (httpx.HTTPError, ValueError, RecursionError) as exc:
        return f"unreachable ({type(exc).__name__})"
    if not isinstance(body, dict):
        return f"unexpected answer (HTTP {response.status_code})"
    return None if body.get("ok") else str(body.get("error") or f"HTTP {response.status_code}")[:60]


async def check_slack(settings: Settings, report: Report, wait_seconds: float = 5.0) -> None:
    """Both tokens as Slack sees them: the bot token with auth.test, the app token with apps.connections.open
    (what Socket Mode calls first; nothing connects until the returned URL is opened)."""
    base = settings.slack_api_url or SLACK_API
    checks = [("SLACK_BOT_TOKEN", "auth.test", _value(settings.slack_bot_token)),
              ("SLACK_APP_TOKEN", "apps.connections.open", _value(settings.slack_app_token))]
    for name, method, token in checks:
        if token is None:
            continue
        error = await _slack_call(base, method, token, wait_seconds)
        if error is None:
            report.plan.append(f"slack: {name} accepted ({method})")
        elif error.startswith("unreachable"):
            report.warnings.append(f"{name}: Slack is {error}; not checked (the bot keeps trying to connect)")
        else:
            report.problems.append(f"{name}: Slack rejected it ({method}: {error})")


async def check_discord(settings: Settings, report: Report, wait_seconds: float = 5.0) -> None:
    """The bot token (GET /users/@me) and, when the message-content intent is asked for, whether the Developer
    Portal has enabled it for this application: otherwise Discord closes the gateway (4014) at start."""
    token = _value(settings.discord_token)
    if token is None:
        return
    intent = settings.discord_message_content
    report.plan.append("discord: message-content intent " + (
        "on (PAPERBOY_DISCORD_MESSAGE_CONTENT): plain “summarize 3” works in digest threads" if intent else
        "off: in digest threads people mention the bot (“@Paperboy summarize 3”)"))
    base = (settings.discord_api_url or DISCORD_API).rstrip("/")
    headers = {"Authorization": f"Bot {token}"}
    try:
        async with httpx.AsyncClient(timeout=wait_seconds) as client:
            me = await client.get(f"{base}/users/@me", headers=headers)
            app = await client.get(f"{base}/oauth2/applications/@me", headers=headers) if me.status_code == 200 \
                else None
    except httpx.HTTPError as exc:
        report.warnings.append(f"DISCORD_TOKEN: Discord is unreachable ({type(exc).__name__}); not checked (the bot "
                               "keeps trying to connect)")
        return
    if me.status_code == 401:
        report.problems.append("DISCORD_TOKEN: Discord rejected it (copy it again from the Developer Portal's "
                               "Bot page)")
        return
    if me.status_code != 200 or app is None or app.status_code != 200:
        report.problems.append(f"DISCORD_TOKEN: Discord answered HTTP {me.status_code}")
        return
    report.plan.append("discord: token accepted")
    try:
        flags = int(app.json().get("flags") or 0)
    except (ValueError, TypeError, AttributeError, RecursionError):
        flags = 0
    if intent and not flags & MESSAGE_CONTENT_FLAGS:
        report.problems.append("PAPERBOY_DISCORD_MESSAGE_CONTENT=true but the Message Content intent is not enabled "
                               "on the Developer Portal's Bot page: enable it, or set it to false")


async def run_checks(settings: Settings) -> Report:
    report = await _checks(settings)
    # Every line, whatever produced it (a driver's error quoting the URL, say), is printed to a terminal.
    report.plan = [mask_url_credentials(line) for line in report.plan]
    report.problems = [mask_url_credentials(line) for line in report.problems]
    report.warnings = [mask_url_credentials(line) for line in report.warnings]
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
    await check_slack(settings, report)
    await check_discord(settings, report)
    slack = _value(settings.slack_bot_token)
    oauth_client = (settings.slack_client_id or "").strip() and _value(settings.slack_client_secret)
    if slack and _value(settings.slack_app_token):
        report.plan.append("slack: Socket Mode (one workspace)")
    elif _value(settings.slack_signing_secret) and (slack or oauth_client):
        if settings.http_port:
            report.plan.append(f"slack: HTTP mode, /slack/events on port {settings.http_port} (with /healthz)")
        else:
            report.problems.append("slack: HTTP mode needs PAPERBOY_HTTP_PORT (the port /slack/events is served on)")
    elif settings.slack_configured:  # `paperboy run` stops on this ("Slack is half configured"): say it first
        report.problems.append("slack: half configured: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode), or "
                               "SLACK_SIGNING_SECRET with SLACK_BOT_TOKEN (HTTP mode, one workspace) or with "
                               "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth installs)")
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
