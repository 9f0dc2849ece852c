"""Settings of the cost-ledger service (env prefix REX_LEDGER_), read once in __main__."""

from pathlib import Path
from typing import Self

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict
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
    consumer_max_records: int = 500
    # Where `migrate` finds its SQL; default: migrations/cost-ledger of this checkout.
    migrations_dir: Path | None = None
    # The catalog is re-read this often, so prices added by another instance show up.
    price_reload_s: float = 60.0

    @model_validator(mode="after")
    def _no_local_defaults_in_production(self) -> Self:
        if self.env == "production" and self.database_url == LOCAL_DATABASE_URL:
            raise ValueError("REX_LEDGER_DATABASE_URL must be set in production")
        return self

    def migrations_path(self) -> Path:
        """The migrations folder: the setting, else the nearest migrations/cost-ledger above."""
        if self.migrations_dir is not None:
            return self.migrations_dir
        here = Path(__file__).resolve()
        for parent in (*here.parents, Path.cwd()):
            candidate = parent / "migrations" / "cost-ledger"
            if candidate.is_dir():
                return candidate
        raise FileNotFoundError("migrations/cost-ledger not found; set REX_LEDGER_MIGRATIONS_DIR")
