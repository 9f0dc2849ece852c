"""Budget service settings: REX_BUDGET_* plus the stack-wide REX_* variables."""

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict
from rex_shared.settings import ServiceSettings

SERVICE = "budget"
SCHEMA = "budget"
LOCAL_DATABASE_URL = "postgresql://rex_budget:budget@127.0.0.1:5433/rex"


class Settings(ServiceSettings):
    """Read once in `__main__` and passed down."""

    model_config = SettingsConfigDict(
        env_prefix="REX_BUDGET_", extra="ignore", populate_by_name=True
    )

    port: int = 8003
    database_url: str = LOCAL_DATABASE_URL
    db_pool_size: int = Field(10, ge=2)
    consumer_group: str = "budget"
    max_records: int = Field(500, ge=1)
    migrations_dir: Path | None = None

    @model_validator(mode="after")
    def _no_local_password_in_production(self) -> Self:
        # The local default DSN carries a well-known password; production must set its own.
        if self.env == "production" and self.database_url == LOCAL_DATABASE_URL:
            raise ValueError("REX_BUDGET_DATABASE_URL must be set in production")
        return self
