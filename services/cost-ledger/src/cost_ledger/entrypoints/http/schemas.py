"""Request bodies of the cost API: strict (unknown fields refused), money never a float."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from rex_shared.api import IsoDateTime
from rex_shared.events import Usage
from rex_shared.money import Money

from cost_ledger.domain.catalog import MAX_RATE_DECIMALS


def _rate(value: Money) -> Money:
    if value < 0:
        raise ValueError("a rate cannot be negative")
    if value.scaleb(MAX_RATE_DECIMALS) % 1 or value > 10**9:
        raise ValueError(f"a rate has at most {MAX_RATE_DECIMALS} decimals and is below 1e9")
    return value


Rate = Annotated[Money, AfterValidator(_rate)]
# PostgreSQL text cannot hold NUL: refuse it at the door (a 422, not a 500 from the driver).
NO_NUL = r"^[^\x00]*$"


class EstimateRequest(BaseModel):
    """A hypothetical call to price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=200)
    timestamp: IsoDateTime | None = None
    service_tier: str | None = Field(None, max_length=50)
    batch: bool = False
    usage: Usage


class RatesIn(BaseModel):
    """Rates in $ per million tokens (web search: $ per request), decimal strings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: Rate | None = None
    cache_read: Rate | None = None
    cache_write_5m: Rate | None = None
    cache_write_1h: Rate | None = None
    output: Rate | None = None
    input_audio: Rate | None = None
    output_audio: Rate | None = None
    per_web_search: Rate | None = None
    long_context_threshold: int | None = Field(None, ge=0, le=100_000_000)
    lc_input: Rate | None = None
    lc_cache_read: Rate | None = None
    lc_cache_write_5m: Rate | None = None
    lc_cache_write_1h: Rate | None = None
    lc_output: Rate | None = None


class PriceRequest(BaseModel):
    """A price from a date: for the caller's org (negotiated) or, for catalog admins, public."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    model: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:/@+-]+$")
    effective_from: datetime
    service_tier: str = Field("default", min_length=1, max_length=50, pattern=r"^[a-z0-9_-]+$")
    batch: bool = False
    scope: Literal["org", "public"] = "org"
    rates: RatesIn
    confirm_unusual: bool = False
    note: str | None = Field(None, max_length=1000, pattern=NO_NUL)


class RepriceRequest(BaseModel):
    """Reprice recorded calls; a dry run (the default) only reports the delta."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dry_run: bool = True
    provider: str | None = Field(None, max_length=100, pattern=NO_NUL)
    model: str | None = Field(None, max_length=200, pattern=NO_NUL)
    from_: IsoDateTime | None = Field(None, alias="from")
    to: IsoDateTime | None = None
    include_priced: bool = False
    limit: int = Field(1000, ge=1, le=10_000)
    cursor: str | None = Field(None, max_length=300)


class RepriceCursor(BaseModel):
    """Where a reprice run stopped."""

    occurred_at: datetime
    call_id: UUID
