"""Settings from the environment (and a `.env` file), one typed object handed to whoever needs it."""

from __future__ import annotations

import os
import re
from typing import get_args
from urllib.parse import unquote, urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.clock import new_timezone
from bot.destination import console_name
from bot.errors import UsageError
from bot.redaction import mask_url_credentials
from storage.urls import default_database_url

# Every URL setting and the schemes it takes (`Settings._url`); the first two may not be blank.
_URL_SCHEMES: dict[str, tuple[str, ...]] = {
    "hf_base_url": ("http", "https"), "arxiv_base_url": ("http", "https"), "llm_base_url": ("http", "https"),
    "embeddings_base_url": ("http", "https"), "slack_api_url": ("http", "https"),
    "discord_api_url": ("http", "https"), "discord_gateway_url": ("ws", "wss", "http", "https"),
}
_REQUIRED_URLS = {"hf_base_url", "arxiv_base_url"}
_URL_EXAMPLES = {"llm_base_url": "http://localhost:11434/v1", "embeddings_base_url": "http://localhost:11434/v1",
                 "hf_base_url": "https://huggingface.co", "arxiv_base_url": "https://export.arxiv.org"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERBOY_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    database_url: str = Field(default_factory=default_database_url)
    database_schema: str | None = None
    timezone: str = "UTC"
    hf_base_url: str = "https://huggingface.co"
    arxiv_base_url: str = "https://export.arxiv.org"
    # Every duration is positive and finite: 0, a negative number or "nan" made every request time out at once
    # ("did not answer in time") and "inf" let a hung server or LLM hold a digest forever.
    http_timeout: float = Field(default=30.0, gt=0, le=600)
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout: float = Field(default=20.0, gt=0, le=600)
    llm_concurrency: int = Field(default=4, ge=1, le=64)
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    llm_daily_token_budget: int | None = Field(default=None, ge=0)  # None or 0: no cap
    llm_breaker_failures: int = Field(default=3, ge=1)
    llm_breaker_cooldown: float = Field(default=60.0, ge=0, le=86_400)
    # The optional semantic layer (bot/topics/semantic.py). Embeddings are used only when a model is named; the
    # endpoint and key default to the LLM's, so one local server can do both.
    embeddings_model: str | None = None
    embeddings_base_url: str | None = None
    embeddings_api_key: SecretStr | None = None
    topic_expansion: bool = True  # expand new topics with the chat LLM; only when an LLM is configured
    digest_max_items: int = Field(default=10, ge=1, le=50)
    digest_grace_hours: float = Field(default=6.0, ge=0, le=48)
    digest_tldr_deadline: float = Field(default=8.0, gt=0, le=600)  # seconds before offline TL;DRs stand in
    # How long a process owns a digest it claimed; after that another process may take over (and first asks the
    # platform whether the digest is already there). Longer than the slowest post, short enough to recover fast.
    digest_lease_seconds: float = Field(default=600.0, ge=5, le=86_400)
    digest_nothing_new: str = Field(default="No new papers today.", max_length=300)
    ingest_time: str = "06:00"  # daily HF fetch, in PAPERBOY_TIMEZONE
    ingest_until_hour: int = Field(default=12, ge=0, le=23)  # keep retrying until then when nothing is out

    # Platforms. Slack and Discord read their usual variable names too (SLACK_BOT_TOKEN, DISCORD_TOKEN …).
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices(
        "PAPERBOY_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"))
    slack_app_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices(
        "PAPERBOY_SLACK_APP_TOKEN", "SLACK_APP_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias=AliasChoices(
        "PAPERBOY_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"))
    slack_client_id: str | None = Field(default=None, validation_alias=AliasChoices(
        "PAPERBOY_SLACK_CLIENT_ID", "SLACK_CLIENT_ID"))
    slack_client_secret: SecretStr | None = Field(default=None, validation_alias=AliasChoices(
        "PAPERBOY_SLACK_CLIENT_SECRET", "SLACK_CLIENT_SECRET"))
    discord_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices(
        "PAPERBOY_DISCORD_TOKEN", "DISCORD_TOKEN"))
    discord_application_id: str | None = Field(default=None, validation_alias=AliasChoices(
        "PAPERBOY_DISCORD_APPLICATION_ID", "DISCORD_APPLICATION_ID", "PAPERBOY_DISCORD_CLIENT_ID",
        "DISCORD_CLIENT_ID"))
    discord_sharded: bool = False  # AutoShardedClient, from about 1,000 guilds
    discord_message_content: bool = False  # the privileged intent: enable it in the developer portal first
    discord_post_interval: float = Field(default=0.25, ge=0, le=60)  # seconds between digest messages
    # Where the platforms' APIs are: their public hosts by default; a proxy, or a fake server in tests.
    slack_api_url: str | None = None  # slack_sdk's https://slack.com/api/ when unset
    discord_api_url: str | None = None  # discord.py's https://discord.com/api/v10 when unset
    discord_gateway_url: str | None = None  # discord.py's wss://gateway.discord.gg/ when unset

    @property
    def slack_configured(self) -> bool:
        return bool(self.slack_bot_token or self.slack_app_token or self.slack_signing_secret
                    or self.slack_client_id)

    @property
    def discord_configured(self) -> bool:
        return self.discord_token is not None and bool(self.discord_token.get_secret_value())

    # Running.
    console: bool = False  # `paperboy run` also serves a console channel (on by default without any platform)
    console_channel: str = "general"
    http_host: str = "127.0.0.1"  # containers set 0.0.0.0 (deploy/compose.yaml, the Dockerfile)
    http_port: int | None = Field(default=None, ge=1, le=65535)  # /healthz, /metrics (and Slack HTTP mode)
    tick_seconds: float = Field(default=60.0, ge=0.5, le=3600)  # how often due digests are looked for
    # Seconds every configured platform gets to connect at start; after that `paperboy run` exits with one line.
    startup_timeout: float = Field(default=30.0, gt=0, le=600)
    log_format: str = Field(default="text", pattern=r"^(text|json)$")
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("ingest_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        """ASCII digits and a real time: `\\d` and `int()` would also take "٠٦:٠٠", and "25:00" crashes the
        scheduler only when it first computes the next run."""
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value.strip()):
            raise ValueError("use HH:MM with the digits 0-9, e.g. 06:00")
        return value.strip()

    @field_validator("llm_model", "http_host", "console_channel")
    @classmethod
    def _one_word(cls, value: str, info: ValidationInfo) -> str:
        """Names used as they are: an empty model reached the LLM as "" on every summary, a huge one overflowed
        the column summaries are counted under, an empty host listened on every interface, and an empty
        console channel posted digests to "#". A leading "#" of a channel is how people write it."""
        if info.field_name == "console_channel":
            return console_name(value, channel=True)  # the rule `paperboy console --channel` follows
        return _word(value, limit=_WORD_LIMITS[info.field_name or ""])

    @field_validator(*_URL_SCHEMES)
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        """An endpoint is a URL of its scheme with a host: "notaurl", "localhost:11434/v1" (no scheme) or "ftp://…"
        passed `config check` as an endpoint unreachable right now, and the bot ran with summaries (or every ingest)
        failing. Blank is unset, for the settings that may be unset."""
        field = info.field_name or ""
        if value is None or (not value.strip() and field not in _REQUIRED_URLS):
            return None
        value = value.strip()
        schemes = _URL_SCHEMES[field]
        wanted = " or ".join(f"{scheme}://" for scheme in schemes)
        if any(c.isspace() or not c.isprintable() for c in value):
            raise ValueError(f"must be a {wanted} URL, without spaces or control characters")
        try:
            parts = urlsplit(value)
            host, _ = parts.hostname, parts.port  # a port that is no number raises here
        except ValueError:
            host = None
        if parts.scheme.lower() not in schemes or not host:
            raise ValueError(f"must be a {wanted} URL with a host, e.g. {_URL_EXAMPLES.get(field, schemes[-1] + '://host')}")
        return value

    @field_validator("embeddings_model")
    @classmethod
    def _optional_word(cls, value: str | None) -> str | None:
        """Unset or blank: no embeddings. Otherwise a model name, checked like PAPERBOY_LLM_MODEL."""
        if value is None or not value.strip():
            return None
        return _word(value, limit=_WORD_LIMITS["embeddings_model"])

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        """Checked at start, naming the variable: otherwise `paperboy run` connects to every platform and then
        stops on it, and chat users are told "unknown timezone" for the operator's setting. Stored in the zone's
        own spelling ("europe/paris" → "Europe/Paris"). A place's zone, by the rule `/papers digest` follows: it is
        the zone of every digest that names none."""
        try:
            return str(new_timezone(value))
        except UsageError as exc:
            raise ValueError(str(exc)) from None

    def secrets(self) -> list[str]:
        """Every secret value configured: the log filter masks them wherever they would appear."""
        values = [self.llm_api_key, self.embeddings_api_key, self.slack_bot_token, self.slack_app_token,
                  self.slack_signing_secret, self.slack_client_secret, self.discord_token]
        found = [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
        from storage.urls import to_async_url

        try:
            password = to_async_url(self.database_url).password
        except Exception:
            password = None
        if password:
            found.append(str(password))
        for url in (self.llm_base_url, self.embeddings_base_url, self.hf_base_url, self.arxiv_base_url):
            try:
                password = urlsplit(url or "").password
            except ValueError:
                continue
            if password:
                found += [password, unquote(password)]  # an error may quote it outside its URL, decoded
        return [v for v in found if len(v) >= 4]

    @property
    def llm_configured(self) -> bool:
        """An LLM is used only when asked for: a base URL (local servers) or an API key (OpenAI itself)."""
        return bool(self.llm_base_url or (self.llm_api_key and self.llm_api_key.get_secret_value()))

    @property
    def embeddings_configured(self) -> bool:
        """Embeddings cost a call per new paper, so they are never implied by an LLM: a model must be named (a blank
        one is read as unset: `_optional_word`)."""
        return self.embeddings_model is not None


_WORD_LIMITS = {"llm_model": 200, "embeddings_model": 200, "http_host": 253}


def _word(value: str, *, limit: int) -> str:
    """A name without spaces or control characters, 1 to `limit` characters once trimmed."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > limit:
        raise ValueError(f"must be at most {limit} characters (it has {len(value)})")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError("must have no spaces or control characters")
    return value


def _variable(location: str) -> tuple[str, bool]:
    """The environment variable a setting comes from (the one that is set, for settings with two names), and
    whether its value is a secret that must not be echoed."""
    for name, info in Settings.model_fields.items():
        choices = info.validation_alias.choices if isinstance(info.validation_alias, AliasChoices) else []
        names = [c for c in choices if isinstance(c, str)]
        if location == name or location.upper() in names:
            secret = info.annotation is SecretStr or SecretStr in get_args(info.annotation)
            if not names:
                return f"PAPERBOY_{name.upper()}", secret
            return next((n for n in names if n in os.environ), names[0]), secret
    return location.upper(), True


def settings_problems(error: ValidationError) -> list[str]:
    """One line per bad setting, naming its variable: what `paperboy` prints instead of pydantic's report."""
    lines = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"])
        if not location:
            lines.append(f"settings: {problem['msg']}")
            continue
        variable, secret = _variable(location)
        value = problem.get("input")
        shown = ""
        if not secret and isinstance(value, str | int | float):
            # masked before cut (a cut could split the "@"); escaped, so a value never drives the terminal
            shown = "=" + _printable(mask_url_credentials(str(value))[:40])
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{variable}{shown}: {message}")
    return lines


def _printable(text: str) -> str:
    """Control and other unprintable characters as Python escapes (ESC → \\x1b); spaces stay."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
