"""What the budget service publishes: thresholds crossed, forecasts, periods closed."""

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from rex_shared import topics
from rex_shared.events.base import Contract
from rex_shared.money import Money

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
