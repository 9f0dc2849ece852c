"""Evaluator settings (`REX_EVALUATOR_*`), read once in `__main__` and passed down."""

from decimal import Decimal
from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from rex_shared.settings import ServiceSettings

SCHEMA = "evaluator"
SOURCE = "rex/evaluator"
QUEUED_CHANNEL = "rex_evaluator_queued"  # NOTIFY payload: the id of an evaluation to run
SIM_API_KEY = "sim-key"  # the simulator accepts any key; the SDKs insist on one
OPENAI_URL = "https://api.openai.com/v1"
ANTHROPIC_URL = "https://api.anthropic.com"


class Settings(ServiceSettings):
    """Database, Kafka, judge providers, the ledger and budget services, limits, security."""

    model_config = SettingsConfigDict(env_prefix="REX_EVALUATOR_")

    port: int = 8001
    # The request role (HTTP, under row-level security); the worker role (run workers, outbox
    # relay, cross-org aggregates); the owner (migrations). Unset, the last two fall back to
    # the first.
    database_url: str = "postgresql://rex_evaluator:evaluator@127.0.0.1:5433/rex"
    worker_database_url: str = ""
    migrate_database_url: str = ""
    db_pool_max: int = Field(10, ge=2)
    migrations_dir: Path | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    sim_url: str = "http://127.0.0.1:8010"
    llm_timeout_s: float = Field(120.0, gt=0, description="Per attempt")
    llm_max_retries: int = Field(2, ge=0, description="Retries on 429/5xx/timeouts per call")
    llm_backoff_base_s: float = Field(0.5, ge=0)
    llm_stream: bool = Field(False, description="Judge calls streamed (usage from the stream)")
    run_concurrency: int = Field(4, ge=1, description="Judge calls in flight per evaluation")
    max_active_runs: int = Field(
        32, ge=1, description="Evaluations run at once per instance (the rest wait queued)"
    )
    provider_concurrency: int = Field(32, ge=1, description="Judge calls in flight per provider")
    judge_max_tokens: int = Field(2048, ge=16)
    max_rows: int = Field(5000, ge=1, description="Rows per evaluation or dataset")
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="HTTP request bodies")
    ledger_url: str = "http://127.0.0.1:8002"
    budget_url: str = "http://127.0.0.1:8003"
    service_timeout_s: float = Field(5.0, gt=0)
    budget_fail_open: bool = Field(
        False, description="Ledger or budget unreachable: accept (with a warning) instead of 503"
    )
    anthropic_token_factor: Decimal = Field(Decimal("1.10"), gt=0)
    run_lease_s: float = Field(30.0, gt=1)
    maintenance_interval_s: float = Field(5.0, gt=0)
    run_evaluations: bool = Field(
        True, description="This instance runs evaluations (false: API only; workers run them)"
    )
    shutdown_grace_s: float = Field(15.0, ge=0, description="Judge calls in flight may finish")
    rate_limit_per_principal: int = Field(600, ge=0)
    rate_limit_per_org: int = Field(3000, ge=0)
    security_headers: bool | None = None
    require_https: bool | None = None
    keks: SecretStr | None = Field(None, validation_alias=AliasChoices("REX_KEKS", "keks"))
    jwks_url: str | None = Field(None, validation_alias=AliasChoices("REX_JWKS_URL", "jwks_url"))

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
        if self.keks is None:
            raise ValueError("REX_KEKS must be set in production (provider keys are sealed)")
        return self

    @property
    def worker_dsn(self) -> str:
        """The worker role's DSN (the request role's when unset)."""
        return self.worker_database_url or self.database_url

    @property
    def migrate_dsn(self) -> str:
        """The owner's DSN, for `migrate` (the request role's when unset)."""
        return self.migrate_database_url or self.database_url

    @property
    def production(self) -> bool:
        return self.env == "production"

    def openai_endpoint(self) -> tuple[str, str]:
        """(base URL, API key): the real API when a key is set, else the simulator."""
        if self.openai_api_key is not None:
            return self.openai_base_url or OPENAI_URL, _secret(self.openai_api_key)
        return f"{self.sim_url.rstrip('/')}/v1", SIM_API_KEY

    def anthropic_endpoint(self) -> tuple[str, str]:
        """(base URL, API key): the real API when a key is set, else the simulator."""
        if self.anthropic_api_key is not None:
            return self.anthropic_base_url or ANTHROPIC_URL, _secret(self.anthropic_api_key)
        return self.sim_url.rstrip("/"), SIM_API_KEY

    def org_key_base_url(self, provider: str) -> str:
        """Where an organization's own key is used: the configured base URL, else the API."""
        if provider == "openai":
            return self.openai_base_url or OPENAI_URL
        return self.anthropic_base_url or ANTHROPIC_URL


def _secret(value: SecretStr) -> str:
    return value.get_secret_value()
