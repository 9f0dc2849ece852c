"""Settings of the cost-ledger service (env prefix REX_LEDGER_), read once in __main__."""

from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict
from rex_shared import topics
from rex_shared.db import migrations_dir
from rex_shared.settings import ServiceSettings

LOCAL_DATABASE_URL = "postgresql://rex_ledger:ledger@127.0.0.1:5433/rex"


class Settings(ServiceSettings):
    """Everything the ledger needs; shared REX_* settings come from the base class."""

    model_config = SettingsConfigDict(env_prefix="REX_LEDGER_", extra="ignore",
                                      populate_by_name=True)  # fmt: skip

    port: int = 8002
    database_url: str = LOCAL_DATABASE_URL
    db_schema: str = "ledger"
    db_pool_max: int = 10
    consumer_group: str = "cost-ledger"
    # Big batches: one database round trip prices and records thousands of calls.
    consumer_max_records: int = 5000
    consumer_max_partition_fetch_bytes: int = 8 * 1024 * 1024
    # Consumers of the group inside this process (each takes some partitions).
    consumer_concurrency: int = Field(1, ge=1, le=16)
    # Polled batches each of them processes at once (one transaction each; offsets committed
    # in poll order): while one batch waits for PostgreSQL the next is decoded and priced.
    consumer_depth: int = Field(2, ge=1, le=8)
    # How long the group waits for a silent (killed) member before handing its partitions on.
    consumer_session_timeout_ms: int = Field(10_000, ge=6_000)
    # Freeze the startup heap and raise gen-0's threshold once started
    # (rex_shared.runtime.settle_gc).
    gc_freeze: bool = True
    # Topics are set once in rex_shared.topics; overridable only so a benchmark can run a ledger
    # on its own topics without flooding everyone else's consumers.
    calls_topic: str = topics.LLM_CALL_COMPLETED
    cost_topic: str = topics.LLM_COST_RECORDED
    jwks_url: str | None = Field(None, validation_alias=AliasChoices("REX_JWKS_URL", "jwks_url"))
    # Requests per minute (fixed windows in PostgreSQL, shared by every instance); 0 = off.
    rate_limit_per_principal: int = 600
    rate_limit_per_org: int = 3000
    max_body_bytes: int = 1_048_576
    # None: on in production, off otherwise.
    security_headers: bool | None = None
    require_https: bool | None = None
    # Orgs whose admins may add PUBLIC prices (every org sees them); others add org prices only.
    catalog_admin_orgs: frozenset[str] = frozenset()
    # Where `migrate` finds its SQL; default: migrations/cost-ledger of this checkout.
    migrations_dir: Path | None = None
    # The catalog is re-read this often, so prices added by another instance show up.
    price_reload_s: float = 60.0

    @model_validator(mode="after")
    def _no_local_defaults_in_production(self) -> Self:
        if self.env == "production" and self.database_url == LOCAL_DATABASE_URL:
            raise ValueError("REX_LEDGER_DATABASE_URL must be set in production")
        return self

    def https_only(self) -> bool:
        """Refuse plain HTTP (behind a TLS-terminating proxy)."""
        return self.require_https if self.require_https is not None else self.production

    def send_security_headers(self) -> bool:
        return self.security_headers if self.security_headers is not None else self.production

    @property
    def production(self) -> bool:
        return self.env == "production"

    def migrations_path(self) -> Path:
        """The migrations folder: the setting, else migrations/cost-ledger of this checkout."""
        return migrations_dir("cost-ledger", self.migrations_dir)
