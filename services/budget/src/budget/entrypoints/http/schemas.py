"""Request bodies: budgets, the pre-flight check and reservations."""

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


def _estimate(value: Decimal) -> Decimal:
    return amount(value, zero_ok=True)


Estimate = Annotated[Money, AfterValidator(_estimate)]


class CheckIn(BaseModel):
    """`POST /api/v1/budgets/check`: would this spend fit? (no side effects)"""

    model_config = ConfigDict(extra="forbid")

    project_id: EntityId
    user_id: EntityId
    estimated_cost: Estimate


class ReservationIn(CheckIn):
    """`POST /api/v1/budgets/reservations`: hold the estimate for an evaluation."""

    evaluation_id: UUID
