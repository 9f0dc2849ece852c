"""Request and reply bodies of the budgets API."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from rex_shared.money import Money

from budget.domain.exact import exact
from budget.domain.model import DEFAULT_THRESHOLDS, BudgetType, PeriodName
from budget.domain.periods import is_timezone
from budget.domain.thresholds import canonical, valid_threshold

_MAX_AMOUNT = Decimal(10) ** 20  # NUMERIC(38,18): 20 digits before the point, 18 after
_PLACES = Decimal("1e-18")


def amount(value: Decimal, *, zero_ok: bool = False) -> Decimal:
    """A USD amount NUMERIC(38,18) holds exactly: finite, below 10^20, at most 18 places."""
    if not value.is_finite() or value < 0 or (value == 0 and not zero_ok):
        raise ValueError("must be zero or more" if zero_ok else "must be greater than zero")
    if value >= _MAX_AMOUNT:
        raise ValueError("must be below 10^20")
    with exact():
        if value != value.quantize(_PLACES):
            raise ValueError("at most 18 decimal places")  # PostgreSQL would round silently
    return canonical(value)


def _limit(value: Decimal) -> Decimal:
    return amount(value)


def _threshold_amounts(values: list[Decimal]) -> list[Decimal]:
    return sorted({amount(v) for v in values})


def _thresholds(values: list[Decimal]) -> list[Decimal]:
    bad = [str(v) for v in values if not valid_threshold(v)]
    if bad:
        raise ValueError(f"thresholds are percents in (0, 1000]; got {', '.join(bad)}")
    return sorted({canonical(v) for v in values})


def _timezone(value: str) -> str:
    if not is_timezone(value):
        raise ValueError("must be an IANA timezone such as 'UTC' or 'Europe/Berlin'")
    return value


Name = Annotated[str, Field(min_length=1, max_length=200)]
EntityId = Annotated[str, Field(min_length=1, max_length=200)]
LimitAmount = Annotated[Money, AfterValidator(_limit)]
Thresholds = Annotated[
    list[Money],
    Field(max_length=20, description="Percents of the limit in (0, 1000]"),
    AfterValidator(_thresholds),
]
ThresholdAmounts = Annotated[
    list[Money],
    Field(max_length=20, description="Absolute thresholds in USD"),
    AfterValidator(_threshold_amounts),
]
Timezone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
FilterValues = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=50)
]


class Filters(BaseModel):
    """Count only calls matching every given list (provider, model, metric)."""

    model_config = ConfigDict(extra="forbid")

    provider: FilterValues | None = None
    model: FilterValues | None = None
    metric: FilterValues | None = None

    def stored(self) -> dict[str, list[str]] | None:
        """The filters as stored, or None when nothing narrows."""
        given = {k: v for k, v in self.model_dump().items() if v}
        return given or None


class BudgetIn(BaseModel):
    """`POST /api/v1/budgets`; the org comes from the token."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    type: BudgetType
    entity_id: EntityId | None = Field(None, description="Defaults to the org (organization type)")
    limit_amount: LimitAmount
    period: PeriodName
    is_hard_limit: bool
    timezone: Timezone = "UTC"
    thresholds: Thresholds = Field(default_factory=lambda: list(DEFAULT_THRESHOLDS))
    threshold_amounts: ThresholdAmounts = Field(default_factory=list)
    filters: Filters | None = None

    @model_validator(mode="after")
    def _entity_named(self) -> Self:
        if self.type != "organization" and self.entity_id is None:
            raise ValueError(f"entity_id is required for a {self.type} budget")
        return self


class BudgetUpdate(BaseModel):
    """`PUT /api/v1/budgets/{id}`: fields given are changed; type and entity never change."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    limit_amount: LimitAmount | None = None
    period: PeriodName | None = None
    is_hard_limit: bool | None = None
    timezone: Timezone | None = None
    thresholds: Thresholds | None = None
    threshold_amounts: ThresholdAmounts | None = None
    filters: Filters | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        # Only filters may be cleared with null; a null limit or name is a mistake.
        nulls = [f for f in self.model_fields_set if f != "filters" and getattr(self, f) is None]
        if nulls:
            raise ValueError(f"may not be null: {', '.join(sorted(nulls))}")
        return self

    def changes(self) -> dict[str, Any]:
        """The given fields in the Budget's own types."""
        given: dict[str, Any] = {f: getattr(self, f) for f in self.model_fields_set}
        for listed in ("thresholds", "threshold_amounts"):
            if listed in given:
                given[listed] = tuple(given[listed])
        if "filters" in given:
            given["filters"] = self.filters.stored() if self.filters else None
        return given


class PeriodOut(BaseModel):
    period_start: datetime
    period_end: datetime
    usage_amount: Money
    usage_percent: Money
    remaining: Money
    events: int


class ForecastOut(BaseModel):
    """Linear projection from the period's burn rate (null fields: too little data yet)."""

    status: Literal["ok", "insufficient_data"]
    projected_amount: Money | None = None
    projected_percent: Money | None = None
    burn_rate_per_hour: Money | None = None
    exceeds_limit: bool | None = None
    runs_out_at: datetime | None = Field(
        None, description="When usage reaches the limit at the current rate, if in this period"
    )


class ThresholdStateOut(BaseModel):
    """A threshold of the current period: armed, or fired once (with its alert)."""

    basis: Literal["percent", "amount"]
    value: Money
    kind: Literal["actual", "forecast"]
    amount: Money = Field(description="The usage in USD at which it is reached")
    state: Literal["armed", "fired"]
    alert_id: UUID | None = None
    fired_at: datetime | None = None


class CurrentPeriodOut(PeriodOut):
    forecast: ForecastOut
    thresholds: list[ThresholdStateOut]


class BudgetOut(BaseModel):
    id: UUID
    name: str
    type: BudgetType
    entity_id: str
    limit_amount: Money
    period: PeriodName
    timezone: str
    thresholds: list[Money]
    threshold_amounts: list[Money]
    is_hard_limit: bool
    filters: dict[str, list[str]] | None
    created_at: datetime | None
    updated_at: datetime | None
    archived_at: datetime | None
    current_period: CurrentPeriodOut | None = None


class AlertOut(BaseModel):
    id: UUID
    budget_id: UUID
    period_start: datetime
    period_end: datetime
    threshold: Money
    kind: str
    severity: str
    usage_amount: Money
    limit_amount: Money
    usage_percent: Money
    is_hard_limit: bool
    crossed_at: datetime
    acknowledged_at: datetime | None
    threshold_basis: str
    threshold_amount: Money | None
    projected_amount: Money | None
    runs_out_at: datetime | None


class BudgetPage(BaseModel):
    items: list[BudgetOut]
    next_cursor: str | None


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


class PeriodPage(BaseModel):
    items: list[PeriodOut]
    next_cursor: str | None
