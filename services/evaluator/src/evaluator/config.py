"""Evaluator settings (`REX_EVALUATOR_*`), read once in `__main__` and passed down."""

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from rex_shared.settings import ServiceSettings

SCHEMA = "evaluator"
SOURCE = "rex/evaluator"
SIM_API_KEY = "sim-key"  # the simulator accepts any key; the SDKs insist on one


class Settings(ServiceSettings):
    """Database, Kafka, judge providers and run limits."""

    model_config = SettingsConfigDict(env_prefix="REX_EVALUATOR_")

    port: int = 8001
    database_url: str = "postgresql://rex_evaluator:evaluator@127.0.0.1:5433/rex"
    migrations_dir: Path | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    sim_url: str = "http://127.0.0.1:8010"
    llm_timeout_s: float = Field(120.0, gt=0)
    llm_max_retries: int = Field(2, ge=0, description="SDK retries on 429/5xx, inside one call")
    run_concurrency: int = Field(4, ge=1, description="Judge calls in flight per evaluation")
    judge_max_tokens: int = Field(2048, ge=16)
    max_rows: int = Field(5000, ge=1)

    @model_validator(mode="after")
    def _explicit_in_production(self) -> Self:
        # The defaults point at local development; production must say where things are.
        if self.env != "production":
            return self
        if "database_url" not in self.model_fields_set:
            raise ValueError("database_url must be set explicitly in production")
        keyless = self.openai_api_key is None or self.anthropic_api_key is None
        if keyless and "sim_url" not in self.model_fields_set:
            raise ValueError("a provider has no API key: set sim_url to use the simulator")
        return self

    def openai_endpoint(self) -> tuple[str, str]:
        """(base URL, API key): the real API when a key is set, else the simulator."""
        if self.openai_api_key is not None:
            return self.openai_base_url or "https://api.openai.com/v1", _secret(self.openai_api_key)
        return f"{self.sim_url.rstrip('/')}/v1", SIM_API_KEY

    def anthropic_endpoint(self) -> tuple[str, str]:
        """(base URL, API key): the real API when a key is set, else the simulator."""
        if self.anthropic_api_key is not None:
            key = _secret(self.anthropic_api_key)
            return self.anthropic_base_url or "https://api.anthropic.com", key
        return self.sim_url.rstrip("/"), SIM_API_KEY


def _secret(value: SecretStr) -> str:
    return value.get_secret_value()
