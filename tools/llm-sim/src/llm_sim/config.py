"""Simulator settings, read from `REX_SIM_*` environment variables."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SimSettings(BaseSettings):
    """Where to listen and which faults to inject."""

    model_config = SettingsConfigDict(env_prefix="REX_SIM_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8010
    fail_rate: float = Field(0.0, ge=0.0, le=1.0, description="Share of requests answered 5xx")
    fail_status: int = Field(500, ge=400, le=599)
    delay_ms: int = Field(0, ge=0, description="Added to every response")
    retry_after_s: int = Field(1, ge=0, description="Retry-After sent with a 429")
    seed: int = 0
    cache_capacity: int = Field(200_000, ge=1, description="Prompt prefixes remembered (LRU)")
    served_capacity: int = Field(1_000_000, ge=0, description="Calls kept for /_sim/served")
