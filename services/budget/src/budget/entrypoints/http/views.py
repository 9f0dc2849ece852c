"""Reply shapes: the response models and the builders of domain objects as API replies."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field
from rex_shared.money import Money

from budget.domain.alerts import FORECAST_THRESHOLD
from budget.domain.model import AlertKind, BudgetType, PeriodName
from budget.domain.thresholds import Threshold, canonical, thresholds_of
from budget.domain.usage import PeriodStatus
from budget.handlers.budgets import BudgetView


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


class ExceededOut(BaseModel):
    budget_id: UUID
    budget_name: str
    limit_amount: Money
    usage_amount: Money
    held_amount: Money


class WarningOut(BaseModel):
    budget_id: UUID
    budget_name: str
    message: str
    usage_percent_after: Money


class CheckOut(BaseModel):
    allowed: bool
    exceeded: list[ExceededOut]
    warnings: list[WarningOut]


class ReservationOut(BaseModel):
    id: UUID
    evaluation_id: UUID
    status: Literal["active", "settled", "expired"]
    held_amount: Money
    expires_at: datetime
    budgets: list[UUID] = Field(description="The budgets the estimate is held against")
    warnings: list[WarningOut] = []
    estimated_cost: Money
    consumed_amount: Money = Field(description="Costs of the evaluation counted so far")
    project_id: str
    user_id: str
    created_at: datetime


class SettleOut(BaseModel):
    id: UUID
    status: Literal["active", "settled", "expired"]
    released_amount: Money


def period_out(status: PeriodStatus) -> PeriodOut:
    return PeriodOut(
        period_start=status.period.start,
        period_end=status.period.end,
        usage_amount=status.usage_amount,
        usage_percent=status.usage_percent,
        remaining=status.remaining,
        events=status.events,
    )


def current_period_out(view: BudgetView) -> CurrentPeriodOut:
    """The current period with its forecast and the state of every threshold."""
    return CurrentPeriodOut(
        **period_out(view.status).model_dump(),
        forecast=_forecast_out(view),
        thresholds=_thresholds_out(view),
    )


def _forecast_out(view: BudgetView) -> ForecastOut:
    f = view.forecast
    if f is None:
        return ForecastOut(status="insufficient_data")
    return ForecastOut(
        status="ok",
        projected_amount=f.projected_amount,
        projected_percent=f.projected_percent,
        burn_rate_per_hour=f.burn_rate_per_hour,
        exceeds_limit=f.exceeds_limit,
        runs_out_at=f.runs_out_at,
    )


def _thresholds_out(view: BudgetView) -> list[ThresholdStateOut]:
    limit = view.budget.limit_amount
    fired = {f.key: f for f in view.fired}
    listed: list[tuple[Threshold, AlertKind]] = [(t, "actual") for t in thresholds_of(view.budget)]
    listed.append((FORECAST_THRESHOLD, "forecast"))
    out = []
    for t, kind in listed:
        firing = fired.get((t.basis, t.value, kind))
        out.append(
            ThresholdStateOut(
                basis=t.basis,
                value=t.value,
                kind=kind,
                amount=canonical(t.amount(limit)),
                state="fired" if firing else "armed",
                alert_id=firing.alert_id if firing else None,
                fired_at=firing.fired_at if firing else None,
            )
        )
    return out
