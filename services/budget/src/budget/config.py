"""Budget service settings: REX_BUDGET_* plus the stack-wide REX_* variables."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict
from rex_shared.security import HttpPolicy
from rex_shared.settings import ServiceSettings

from budget.domain.forecast import ForecastPolicy

SERVICE = "budget"
SCHEMA = "budget"
LOCAL_DATABASE_URL = "postgresql://rex_budget:budget@127.0.0.1:5433/rex"


class Settings(ServiceSettings):
    """Read once in `__main__` and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="REX_BUDGET_", extra="ignore", populate_by_name=True
    )

    port: int = 8003
    # The request role (HTTP, under row-level security); the worker role (consumer, sweep,
    # outbox relay: every org); the owner (migrations). Unset, the last two fall back to the
    # first.
    database_url: str = LOCAL_DATABASE_URL
    worker_database_url: str = ""
    migrate_database_url: str = ""
    db_pool_size: int = Field(10, ge=2)
    consumer_group: str = "budget"
    max_records: int = Field(500, ge=1)
    # How soon a crashed instance's partitions go to the others (the broker's minimum is 6 s).
    consumer_session_timeout_ms: int = Field(10_000, ge=6_000)
    # Off for an API-only instance (the consumer then runs elsewhere).
    consumer_enabled: bool = True
    migrations_dir: Path | None = None
    jwks_url: str | None = Field(None, validation_alias=AliasChoices("REX_JWKS_URL", "jwks_url"))
    # Requests per minute; 0 turns the limit off.
    rate_limit_per_principal: int = Field(600, ge=0)
    rate_limit_per_org: int = Field(3000, ge=0)
    max_body_bytes: int = Field(65_536, ge=1024)
    # None: on in production, off otherwise.
    security_headers: bool | None = None
    require_https: bool | None = None
    reservation_ttl_s: int = Field(7200, ge=1)
    sweep_interval_s: float = Field(30.0, gt=0)
    period_close_grace_s: float = Field(60.0, ge=0)
    forecast_min_elapsed_fraction: Decimal = Field(Decimal("0.1"), ge=0, le=1)
    forecast_min_usage_percent: Decimal = Field(Decimal(5), ge=0)

    @model_validator(mode="after")
    def _no_local_password_in_production(self) -> Self:
        # The local default DSN carries a well-known password; production must set its own.
        if self.env == "production" and self.database_url == LOCAL_DATABASE_URL:
            raise ValueError("REX_BUDGET_DATABASE_URL must be set in production")
        return self

    @property
    def worker_dsn(self) -> str:
        """The worker role's DSN (the request role's when unset)."""
        return self.worker_database_url or self.database_url

    @property
    def migrate_dsn(self) -> str:
        """The owner's DSN, for `migrate` (the request role's when unset)."""
        return self.migrate_database_url or self.database_url

    def http_policy(self) -> HttpPolicy:
        """Body limit always; transport rules default to on in production."""
        production = self.env == "production"
        return HttpPolicy(
            max_body_bytes=self.max_body_bytes,
            security_headers=production if self.security_headers is None else self.security_headers,
            require_https=production if self.require_https is None else self.require_https,
        )

    def forecast_policy(self) -> ForecastPolicy:
        """How much of a period must pass (and be spent) before forecasting."""
        return ForecastPolicy(self.forecast_min_elapsed_fraction, self.forecast_min_usage_percent)

    @property
    def reservation_ttl(self) -> timedelta:
        return timedelta(seconds=self.reservation_ttl_s)
