"""The events the budget service produces, built from domain objects (through the outbox)."""

from decimal import Decimal
from typing import Any
from uuid import uuid5

from rex_shared import cloudevents
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.events import (
    REX_NAMESPACE,
    BudgetForecastExceeded,
    BudgetPeriodClosed,
    BudgetThresholdCrossed,
)

from budget.domain.alerts import Alert
from budget.domain.closures import Closure
from budget.domain.model import Budget
from budget.domain.periods import PeriodBounds
from budget.domain.thresholds import usage_percent

SOURCE = "rex/budget"


def alert_events(alert: Alert) -> list[OutgoingEvent]:
    """`budget.threshold.crossed`, plus `budget.forecast.exceeded` for a forecast."""
    events = [threshold_crossed_event(alert)]
    if alert.kind == "forecast":
        events.append(forecast_exceeded_event(alert))
    return events


def threshold_crossed_event(alert: Alert) -> OutgoingEvent:
    """The `budget.threshold.crossed` CloudEvent of an alert (its id is the alert id)."""
    budget, projection = alert.budget, alert.forecast
    data = BudgetThresholdCrossed(
        alert_id=alert.id,
        **_budget_fields(budget, alert.period, alert.usage_amount, alert.usage_percent),
        threshold=alert.threshold_percent,
        kind=alert.kind,
        severity=alert.severity,
        crossed_at=alert.crossed_at,
        threshold_basis=alert.threshold.basis,
        threshold_amount=alert.threshold_amount,
        projected_amount=projection.projected_amount if projection else None,
        runs_out_at=projection.runs_out_at if projection else None,
    )
    return cloudevents.build(
        data, source=SOURCE, event_id=str(alert.id), key=budget.org_id, time=alert.crossed_at
    )


def forecast_exceeded_event(alert: Alert) -> OutgoingEvent:
    """`budget.forecast.exceeded` for a forecast alert; id uuid5(REX_NS, "forecast:<alert>")."""
    budget, projection = alert.budget, alert.forecast
    assert projection is not None, "a forecast alert carries its forecast"
    data = BudgetForecastExceeded(
        alert_id=alert.id,
        **_budget_fields(budget, alert.period, alert.usage_amount, alert.usage_percent),
        projected_amount=projection.projected_amount,
        projected_percent=projection.projected_percent,
        burn_rate_per_hour=projection.burn_rate_per_hour,
        runs_out_at=projection.runs_out_at,
        forecast_at=alert.crossed_at,
    )
    event_id = str(uuid5(REX_NAMESPACE, f"forecast:{alert.id}"))
    return cloudevents.build(
        data, source=SOURCE, event_id=event_id, key=budget.org_id, time=alert.crossed_at
    )


def period_closed_event(closure: Closure) -> OutgoingEvent:
    """`budget.period.closed` with the period's totals (id derived from budget and period)."""
    budget, used = closure.budget, closure.usage_amount
    data = BudgetPeriodClosed(
        **_budget_fields(budget, closure.period, used, usage_percent(used, budget.limit_amount)),
        events=closure.events,
        alerts=closure.alerts,
        closed_at=closure.closed_at,
    )
    return cloudevents.build(
        data,
        source=SOURCE,
        event_id=str(closure.event_id),
        key=budget.org_id,
        time=closure.closed_at,
    )


def _budget_fields(
    budget: Budget, period: PeriodBounds, usage_amount: Decimal, percent: Decimal
) -> dict[str, Any]:
    """What every budget event says about its budget, period and usage."""
    return {
        "budget_id": budget.id,
        "budget_name": budget.name,
        "budget_type": budget.type,
        "entity_id": budget.entity_id,
        "org_id": budget.org_id,
        "period_start": period.start,
        "period_end": period.end,
        "usage_amount": usage_amount,
        "limit_amount": budget.limit_amount,
        "usage_percent": percent,
        "is_hard_limit": budget.is_hard_limit,
    }
