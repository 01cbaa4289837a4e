"""Settings from the environment (and a `.env` file), one typed object handed to whoever needs it."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.urls import default_database_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERBOY_", env_file=".env", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    database_schema: str | None = None
    timezone: str = "UTC"
    hf_base_url: str = "https://huggingface.co"
    arxiv_base_url: str = "https://export.arxiv.org"
    http_timeout: float = 30.0
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout: float = Field(default=20.0, gt=0)
    llm_concurrency: int = Field(default=4, ge=1, le=64)
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    llm_daily_token_budget: int | None = Field(default=None, ge=0)  # None or 0: no cap
    llm_breaker_failures: int = Field(default=3, ge=1)
    llm_breaker_cooldown: float = Field(default=60.0, ge=0)
    # The optional semantic layer (bot/topics/semantic.py). Embeddings are used only when a model is named; the
    # endpoint and key default to the LLM's, so one local server can do both.
    embeddings_model: str | None = None
    embeddings_base_url: str | None = None
    embeddings_api_key: SecretStr | None = None
    topic_expansion: bool = True  # expand new topics with the chat LLM; only when an LLM is configured
    semantic_match_similarity: float = Field(default=0.55, ge=0, le=1)
    digest_max_items: int = Field(default=10, ge=1, le=50)
    digest_grace_hours: float = Field(default=6.0, ge=0, le=48)
    digest_tldr_deadline: float = Field(default=8.0, gt=0)  # seconds before offline TL;DRs stand in
    digest_nothing_new: str = Field(default="No new papers today.", max_length=300)
    ingest_time: str = Field(default="06:00", pattern=r"^\d{2}:\d{2}$")  # daily HF fetch, PAPERBOY_TIMEZONE
    ingest_until_hour: int = Field(default=12, ge=0, le=23)  # keep retrying until then when nothing is out

    @property
    def llm_configured(self) -> bool:
        """An LLM is used only when asked for: a base URL (local servers) or an API key (OpenAI itself)."""
        return bool(self.llm_base_url or (self.llm_api_key and self.llm_api_key.get_secret_value()))

    @property
    def embeddings_configured(self) -> bool:
        """Embeddings cost a call per new paper, so they are never implied by an LLM: a model must be named."""
        return bool(self.embeddings_model and self.embeddings_model.strip())
