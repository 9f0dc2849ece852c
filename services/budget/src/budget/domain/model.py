"""The budget as the domain sees it: who it covers, its limit, period and thresholds."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args
from uuid import UUID

BudgetType = Literal["organization", "project", "user"]
PeriodName = Literal["daily", "weekly", "monthly", "quarterly", "yearly"]
AlertKind = Literal["actual", "forecast"]
ThresholdBasis = Literal["percent", "amount"]

BUDGET_TYPES: tuple[BudgetType, ...] = get_args(BudgetType)
PERIODS: tuple[PeriodName, ...] = get_args(PeriodName)
DEFAULT_THRESHOLDS: tuple[Decimal, ...] = tuple(Decimal(p) for p in (50, 80, 90, 100))
FILTER_FIELDS = ("provider", "model", "metric")


@dataclass(frozen=True)
class Budget:
    """A spending limit per period for one organization, project or user."""

    id: UUID
    org_id: str
    name: str
    type: BudgetType
    entity_id: str
    limit_amount: Decimal
    period: PeriodName
    timezone: str
    thresholds: tuple[Decimal, ...]
    is_hard_limit: bool
    filters: Mapping[str, Sequence[str]] | None = None
    threshold_amounts: tuple[Decimal, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    archived_at: datetime | None = None


@dataclass(frozen=True)
class Payer:
    """Who pays for a call, and what the call was (for budget filters)."""

    org_id: str
    project_id: str
    user_id: str
    provider: str = ""
    model: str = ""
    metric: str | None = None

    def entity(self, budget_type: BudgetType) -> str:
        """The entity a budget of `budget_type` must name to cover this payer."""
        return {"organization": self.org_id, "project": self.project_id, "user": self.user_id}[
            budget_type
        ]


def covers(budget: Budget, payer: Payer) -> bool:
    """True when a call by `payer` counts against `budget`."""
    if budget.archived_at is not None or budget.org_id != payer.org_id:
        return False
    if budget.entity_id != payer.entity(budget.type):
        return False
    return _filters_match(budget.filters or {}, payer)


def _filters_match(filters: Mapping[str, Sequence[str]], payer: Payer) -> bool:
    # An absent or empty filter list means "any"; every present list must contain the value.
    values = {"provider": payer.provider, "model": payer.model, "metric": payer.metric}
    return all(not allowed or values.get(name) in allowed for name, allowed in filters.items())
