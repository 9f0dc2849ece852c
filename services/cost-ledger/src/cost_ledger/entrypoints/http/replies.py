"""The documented shapes of `data` in the cost API's success replies (OpenAPI only).

The routes build their replies as plain dicts (views.py, report_views.py) and send them as they
are: these models describe those dicts exactly (every field, its type, its nullability) for the
OpenAPI document (`rex_shared.api.documented`), so no reply is validated against them.
Money and ratios are decimal strings, times ISO 8601 strings. tests/unit/test_replies.py checks
real view outputs against them, both ways, so a field added to a reply without its model fails.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from rex_shared.api import DecimalText as DecimalStr

from cost_ledger.domain.pricebook import PriceStatus, Source

GroupBy = Literal["provider", "model", "metric", "project", "user"]
Currency = Literal["USD"]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
Uuid = Annotated[str, Field(json_schema_extra={"format": "uuid"})]


class Reply(BaseModel):
    """A reply shape: frozen; unknown fields ignored (replies change additively)."""

    model_config = ConfigDict(frozen=True)


class TokensOut(Reply):
    """Token counts (web search: requests)."""

    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    reasoning_tokens: int
    input_audio_tokens: int
    output_audio_tokens: int
    web_search_requests: int


class CostByComponentOut(Reply):
    """Cost per usage component in USD (their sum is the total)."""

    input: DecimalStr
    cache_read: DecimalStr
    cache_write: DecimalStr
    output: DecimalStr
    input_audio: DecimalStr
    output_audio: DecimalStr
    web_search: DecimalStr


class CostOut(CostByComponentOut):
    """Cost per usage component and their exact total, in USD."""

    total: DecimalStr


class EstimateOut(Reply):
    """`POST /api/v1/costs/estimate`: an unpriced estimate is a 422 (UNKNOWN_MODEL, NO_PRICE),
    so the price row fields are always set here."""

    total_cost: DecimalStr
    currency: Currency
    cost: CostOut
    price_id: str
    status: PriceStatus
    model_id: str
    service_tier: str
    batch: bool


class MetricCostsOut(Reply):
    """One metric of an evaluation (`metric` null: calls without a metric)."""

    metric: str | None
    calls: int
    failed_calls: int
    unpriced_calls: int
    failure_rate: DecimalStr | None = Field(description="failed_calls / calls; null without calls")
    cost: DecimalStr
    avg_cost_per_call: DecimalStr | None
    cost_by_component: CostByComponentOut
    tokens: TokensOut
    avg_latency_ms: int | None
    p95_latency_ms: int | None
    max_latency_ms: int | None
    first_call_at: DateTime | None
    last_call_at: DateTime | None


class EvaluationCostsOut(Reply):
    """`GET /api/v1/costs/evaluations/{evaluation_id}`."""

    evaluation_id: Uuid
    project_id: str
    user_id: str
    total_cost: DecimalStr
    currency: Currency
    calls: int
    failed_calls: int
    unpriced_calls: int
    qa_rows: int
    avg_cost_per_qa_row: DecimalStr | None
    tokens: TokensOut
    cost_by_component: CostByComponentOut
    metrics: list[MetricCostsOut]
    first_call_at: DateTime | None
    last_call_at: DateTime | None


class RatesOut(Reply):
    """Rates in USD per million tokens (web search: per request); null: not priced apart."""

    input: DecimalStr | None
    cache_read: DecimalStr | None
    cache_write_5m: DecimalStr | None
    cache_write_1h: DecimalStr | None
    output: DecimalStr | None
    input_audio: DecimalStr | None
    output_audio: DecimalStr | None
    per_web_search: DecimalStr | None
    long_context_threshold: int | None
    lc_input: DecimalStr | None
    lc_cache_read: DecimalStr | None
    lc_cache_write_5m: DecimalStr | None
    lc_cache_write_1h: DecimalStr | None
    lc_output: DecimalStr | None


class PriceRowOut(Reply):
    """One price catalog row (`org_id` null: a public price), in force [from, to)."""

    id: str
    provider: str
    model_id: str
    model_name: str | None
    service_tier: str
    batch: bool
    org_id: str | None
    effective_from: DateTime
    effective_to: DateTime | None
    source: Source
    rates: RatesOut


class PricingPageOut(Reply):
    """`GET /api/v1/costs/pricing` (`model_id`: the family `model` resolved to, if asked)."""

    model_id: str | None
    items: list[PriceRowOut]
    next_cursor: str | None


class PriceAddedOut(PriceRowOut):
    """`POST /api/v1/costs/pricing`: the row added, the reference it was compared with and the
    rates more than 100x off it (confirmed)."""

    reference_price_id: str | None
    unusual: list[str]


class ModelDeltaOut(Reply):
    """A reprice run's delta for one (provider, model)."""

    provider: str
    model: str
    calls: int
    delta: DecimalStr


class AdjustmentOut(Reply):
    """One adjustment a reprice run made (or, dry, would make)."""

    call_id: Uuid
    seq: int
    adjustment_id: Uuid
    previous_status: PriceStatus
    previous_price_id: str | None
    price_id: str
    previous_cost: DecimalStr
    new_cost: DecimalStr
    delta: DecimalStr


class RepriceOut(Reply):
    """`POST /api/v1/costs/reprice` (the first 100 adjustments; next_cursor: more to look at)."""

    dry_run: bool
    examined: int
    repriced: int
    unchanged_or_unknown: int
    delta_total: DecimalStr
    currency: Currency
    by_model: list[ModelDeltaOut]
    adjustments: list[AdjustmentOut]
    next_cursor: str | None
