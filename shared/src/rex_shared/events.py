"""Event contracts (DESIGN.md section 2): frozen, unknown fields ignored, additive changes only."""

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rex_shared import topics
from rex_shared.money import Money

REX_NAMESPACE = UUID("8569fdae-e16d-4760-a784-bb166d044fb2")
"""Namespace of deterministic event ids (REX_NS in CONVENTIONS.md): a re-send keeps its id,
e.g. `llm.cost.recorded` = uuid5(REX_NAMESPACE, "cost:" + call_id). Never change it."""


class Contract(BaseModel):
    """Base of every event: immutable, tolerant of fields added later."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    topic: ClassVar[str]


class Usage(BaseModel):
    """Canonical provider-neutral token usage; parts never exceed their whole."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    input_tokens: int = Field(0, ge=0, description="All input, cache reads and writes included")
    cache_read_tokens: int = Field(0, ge=0)
    cache_write_tokens: int = Field(0, ge=0)
    cache_write_1h_tokens: int = Field(0, ge=0, description="Part of cache_write_tokens")
    output_tokens: int = Field(0, ge=0, description="Reasoning included")
    reasoning_tokens: int = Field(0, ge=0)
    input_audio_tokens: int = Field(0, ge=0)
    output_audio_tokens: int = Field(0, ge=0)
    web_search_requests: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _parts_within_wholes(self) -> Self:
        if self.cache_read_tokens + self.cache_write_tokens + self.input_audio_tokens > (
            self.input_tokens
        ):
            raise ValueError("cache and audio input tokens exceed input_tokens")
        if self.cache_write_1h_tokens > self.cache_write_tokens:
            raise ValueError("cache_write_1h_tokens exceeds cache_write_tokens")
        if self.reasoning_tokens + self.output_audio_tokens > self.output_tokens:
            raise ValueError("reasoning and audio output tokens exceed output_tokens")
        return self

    @property
    def uncached_input_tokens(self) -> int:
        """Input billed at the plain input rate (text, neither cached nor written)."""
        return (
            self.input_tokens
            - self.cache_read_tokens
            - self.cache_write_tokens
            - self.input_audio_tokens
        )


class Payer(BaseModel):
    """Who pays: every event carries it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    org_id: str = Field(min_length=1, max_length=200)
    project_id: str = Field(min_length=1, max_length=200)
    user_id: str = Field(min_length=1, max_length=200)


Api = Literal["chat.completions", "responses", "messages"]
CallStatus = Literal["succeeded", "failed"]


class LlmCallCompleted(Contract):
    """One provider call, succeeded or failed, with its exact usage."""

    topic: ClassVar[str] = topics.LLM_CALL_COMPLETED

    call_id: UUID
    evaluation_id: UUID | None = None
    metric: str | None = None
    org_id: str = Field(min_length=1, max_length=200)
    project_id: str = Field(min_length=1, max_length=200)
    user_id: str = Field(min_length=1, max_length=200)
    provider: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=200, description="As returned by the provider")
    requested_model: str = Field(min_length=1, max_length=200)
    api: Api
    started_at: datetime
    completed_at: datetime
    latency_ms: int = Field(ge=0)
    status: CallStatus
    error: str | None = None
    service_tier: str | None = None
    batch: bool = False
    usage: Usage
    raw_usage: dict[str, object] | None = None
    provider_request_id: str | None = None
    row_index: int | None = Field(
        None, ge=0, description="The dataset row (QA pair) the call judged, when it judged one"
    )


class CostComponents(BaseModel):
    """Cost per usage component; `total` is their exact sum."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    input: Money = Decimal(0)
    cache_read: Money = Decimal(0)
    cache_write: Money = Decimal(0)
    output: Money = Decimal(0)
    input_audio: Money = Decimal(0)
    output_audio: Money = Decimal(0)
    web_search: Money = Decimal(0)
    total: Money = Decimal(0)


class LlmCostRecorded(Contract):
    """A priced (or unpriced) call, as the ledger recorded it."""

    topic: ClassVar[str] = topics.LLM_COST_RECORDED

    call_id: UUID
    evaluation_id: UUID | None = None
    metric: str | None = None
    org_id: str
    project_id: str
    user_id: str
    provider: str
    model: str
    status: Literal["priced", "unpriced"]
    call_status: CallStatus = "succeeded"
    usage: Usage
    cost: CostComponents
    currency: Literal["USD"] = "USD"
    price_id: str | None = None
    occurred_at: datetime
    recorded_at: datetime
    entry_kind: Literal["charge", "adjustment"] = Field(
        "charge",
        description="charge: the call's first pricing; adjustment: a later correction whose"
        " `cost` and `usage` are DELTAS to add to what was recorded before for `call_id`",
    )
    adjusts_call_id: UUID | None = Field(
        None, description="For an adjustment: the call whose recorded cost it corrects"
    )
    adjustment_id: UUID | None = None


Severity = Literal["info", "warning", "critical"]


class BudgetThresholdCrossed(Contract):
    """A budget's threshold crossed, at most once per period."""

    topic: ClassVar[str] = topics.BUDGET_THRESHOLD_CROSSED

    alert_id: UUID
    budget_id: UUID
    budget_name: str
    budget_type: Literal["organization", "project", "user"]
    entity_id: str
    org_id: str
    period_start: datetime
    period_end: datetime
    threshold: Money
    kind: Literal["actual", "forecast"] = "actual"
    severity: Severity
    usage_amount: Money
    limit_amount: Money
    usage_percent: Money
    is_hard_limit: bool
    crossed_at: datetime
    threshold_basis: Literal["percent", "amount"] = Field(
        "percent",
        description="percent: `threshold` is what the budget set; amount: the budget set a USD"
        " amount (`threshold_amount`) and `threshold` is its percent of the limit",
    )
    threshold_amount: Money | None = Field(
        None, description="The usage in USD at which the threshold is reached"
    )
    projected_amount: Money | None = Field(
        None, description="kind=forecast: the spend projected at period end at the current rate"
    )
    runs_out_at: datetime | None = Field(
        None, description="kind=forecast: when usage reaches the limit at the current rate"
    )


class BudgetForecastExceeded(Contract):
    """Spend projected to the period's end exceeds the limit; at most once per period."""

    topic: ClassVar[str] = topics.BUDGET_FORECAST_EXCEEDED

    alert_id: UUID = Field(description="The `budget.threshold.crossed` (kind=forecast) alert")
    budget_id: UUID
    budget_name: str
    budget_type: Literal["organization", "project", "user"]
    entity_id: str
    org_id: str
    period_start: datetime
    period_end: datetime
    usage_amount: Money
    limit_amount: Money
    usage_percent: Money
    projected_amount: Money
    projected_percent: Money
    burn_rate_per_hour: Money
    runs_out_at: datetime | None = Field(
        None, description="When usage reaches the limit at the current rate (before period_end)"
    )
    is_hard_limit: bool
    forecast_at: datetime


class BudgetPeriodClosed(Contract):
    """A budget period ended: its totals, once per (budget, period)."""

    topic: ClassVar[str] = topics.BUDGET_PERIOD_CLOSED

    budget_id: UUID
    budget_name: str
    budget_type: Literal["organization", "project", "user"]
    entity_id: str
    org_id: str
    period_start: datetime
    period_end: datetime
    usage_amount: Money
    limit_amount: Money
    usage_percent: Money
    events: int = Field(ge=0, description="llm.cost.recorded events counted in the period")
    alerts: int = Field(ge=0, description="Thresholds (kind=actual) that fired in the period")
    is_hard_limit: bool
    closed_at: datetime


class MetricTotals(BaseModel):
    """Per-metric summary inside `evaluation.completed`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    metric: str
    score: Decimal | None = None
    rows_scored: int = 0
    calls: int = 0


class EvaluationCompleted(Contract):
    """An evaluation finished (succeeded, failed or cancelled)."""

    topic: ClassVar[str] = topics.EVALUATION_COMPLETED

    evaluation_id: UUID
    org_id: str
    project_id: str
    user_id: str
    status: Literal["completed", "failed", "cancelled"]
    rows_total: int
    rows_done: int
    calls: int
    estimated_cost: Money | None = None
    metrics: list[MetricTotals] = []
    completed_at: datetime


ALL_EVENTS: tuple[type[Contract], ...] = (
    LlmCallCompleted,
    LlmCostRecorded,
    BudgetThresholdCrossed,
    EvaluationCompleted,
    BudgetForecastExceeded,
    BudgetPeriodClosed,
)
