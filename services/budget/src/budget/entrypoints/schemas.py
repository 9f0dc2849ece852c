"""Request and reply bodies of the budgets API."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from rex_shared.money import Money

from budget.domain.exact import exact
from budget.domain.model import DEFAULT_THRESHOLDS, BudgetType, PeriodName
from budget.domain.periods import is_timezone
from budget.domain.thresholds import canonical, valid_threshold

_MAX_AMOUNT = Decimal(10) ** 20  # NUMERIC(38,18): 20 digits before the point, 18 after
_PLACES = Decimal("1e-18")


def _limit(value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise ValueError("must be greater than zero")
    if value >= _MAX_AMOUNT:
        raise ValueError("must be below 10^20")
    with exact():
        if value != value.quantize(_PLACES):
            raise ValueError("at most 18 decimal places")  # PostgreSQL would round silently
    return canonical(value)


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
Thresholds = Annotated[list[Money], Field(max_length=20), AfterValidator(_thresholds)]
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
        if "thresholds" in given:
            given["thresholds"] = tuple(given["thresholds"])
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


class BudgetOut(BaseModel):
    id: UUID
    name: str
    type: BudgetType
    entity_id: str
    limit_amount: Money
    period: PeriodName
    timezone: str
    thresholds: list[Money]
    is_hard_limit: bool
    filters: dict[str, list[str]] | None
    created_at: datetime | None
    updated_at: datetime | None
    archived_at: datetime | None
    current_period: PeriodOut | None = None


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


class BudgetPage(BaseModel):
    items: list[BudgetOut]
    next_cursor: str | None


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


class PeriodPage(BaseModel):
    items: list[PeriodOut]
    next_cursor: str | None
