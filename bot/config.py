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
