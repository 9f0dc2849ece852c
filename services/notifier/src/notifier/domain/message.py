"""What an alert says: the template variables of each event, computed once, pure."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from rex_shared.events import (
    BudgetForecastExceeded,
    BudgetPeriodClosed,
    BudgetThresholdCrossed,
    Severity,
)
from rex_shared.money import display

from notifier.domain.severity import severity_of


@dataclass(frozen=True)
class SeverityStyle:
    """How a severity looks: a label, a colour and an icon (emoji for Slack)."""

    label: str
    colour: str
    icon: str
    slack_emoji: str


@dataclass(frozen=True)
class Rendered:
    """One alert in every channel's format; `reference` names the delivery it belongs to."""

    subject: str
    text: str
    html: str
    slack: dict[str, Any]
    reference: str = ""
    event_type: str = ""
    event_id: str = ""
    # The event's data as JSON, for signed webhooks.
    data: dict[str, Any] = field(default_factory=dict)
    test: bool = False


class UnknownEventType(LookupError):
    """No templates exist for this event type."""


SEVERITY_STYLES: dict[Severity, SeverityStyle] = {
    "info": SeverityStyle("Info", "#2563eb", "\u2139\ufe0f", ":information_source:"),
    "warning": SeverityStyle("Warning", "#d97706", "\u26a0\ufe0f", ":warning:"),
    "critical": SeverityStyle("Critical", "#dc2626", "\U0001f6a8", ":rotating_light:"),
}


@dataclass(frozen=True)
class Row:
    """One line of the facts table: a label, a value, and whether it is the point."""

    label: str
    value: str
    strong: bool = False


@dataclass(frozen=True)
class Driver:
    """A top cost driver (model, metric, user, ...) and what it cost in the period."""

    label: str
    amount: str


def usd(amount: Decimal) -> str:
    """Dollars for people: cents from $1 up, four places below (LLM costs are small)."""
    places = 2 if amount == 0 or abs(amount) >= 1 else 4
    return f"-${display(-amount, places)}" if amount < 0 else f"${display(amount, places)}"


def percent(value: Decimal) -> str:
    """A percentage with one decimal place, rounded half-even for display only."""
    return f"{display(value, 1)}%"


def when(moment: datetime) -> str:
    """A UTC timestamp people can read, without ambiguity about the zone."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def budget_link(dashboard_url: str, budget_id: object) -> str:
    """The budget's page on the cost dashboard."""
    return f"{dashboard_url.rstrip('/')}/budgets/{budget_id}"


def drivers_of(event: object, limit: int = 5) -> list[Driver]:
    """The event's optional `top_cost_drivers` ({label, amount} items), biggest first."""
    found: list[Driver] = []
    for item in getattr(event, "top_cost_drivers", None) or ():
        label = _field(item, "label")
        amount = _field(item, "amount")
        if label is not None and amount is not None:
            found.append(Driver(str(label), usd(Decimal(str(amount)))))
    return found[:limit]


def _field(item: object, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _left(usage: Decimal, limit: Decimal) -> Row:
    # Over the limit, "remaining $0" hides how far over; say it instead.
    remaining = limit - usage
    if remaining < 0:
        return Row("Over the limit by", usd(-remaining), strong=True)
    return Row("Remaining", usd(remaining))


def _common(event: Any, *, dashboard_url: str, severity: Severity) -> dict[str, Any]:
    style = SEVERITY_STYLES[severity]
    return {
        "budget_name": event.budget_name,
        "budget_type": event.budget_type,
        "entity_id": event.entity_id,
        "severity": severity,
        "style": style,
        "limit": usd(event.limit_amount),
        "usage": usd(event.usage_amount),
        "usage_percent": percent(event.usage_percent),
        "period_start": when(event.period_start),
        "period_end": when(event.period_end),
        "period": f"{when(event.period_start)} \u2013 {when(event.period_end)}",
        "is_hard_limit": event.is_hard_limit,
        "link": budget_link(dashboard_url, event.budget_id),
        "drivers": drivers_of(event),
    }


def _tail(context: dict[str, Any], rows: Iterable[Row]) -> list[Row]:
    style = context["style"]
    return [
        *rows,
        Row("Period", context["period"]),
        Row("Severity", f"{style.icon} {style.label}", strong=True),
    ]


def threshold_context(event: BudgetThresholdCrossed, *, dashboard_url: str) -> dict[str, Any]:
    """Template variables for `budget.threshold.crossed` (actual and forecast)."""
    context = _common(event, dashboard_url=dashboard_url, severity=event.severity)
    threshold = percent(event.threshold)
    if event.threshold_amount is not None and event.threshold_basis == "amount":
        threshold = f"{usd(event.threshold_amount)} ({threshold})"
    forecast = event.kind == "forecast"
    rows = [
        Row("Forecast usage" if forecast else "Usage", context["usage"]),
        Row("Limit", context["limit"]),
        Row("Used", context["usage_percent"], strong=True),
        _left(event.usage_amount, event.limit_amount),
        Row("Threshold", threshold),
    ]
    if event.projected_amount is not None:
        rows.append(Row("Projected at period end", usd(event.projected_amount), strong=True))
    if event.runs_out_at is not None:
        rows.append(Row("Limit reached at", when(event.runs_out_at), strong=True))
    return {
        **context,
        "kind": event.kind,
        "threshold": threshold,
        "runs_out_at": when(event.runs_out_at) if event.runs_out_at else None,
        "rows": _tail(context, rows),
        "footer": f"Threshold crossed at {when(event.crossed_at)}.",
    }


def forecast_context(event: BudgetForecastExceeded, *, dashboard_url: str) -> dict[str, Any]:
    """Template variables for `budget.forecast.exceeded`."""
    context = _common(event, dashboard_url=dashboard_url, severity=severity_of(event))
    runs_out = when(event.runs_out_at) if event.runs_out_at else None
    rows = [
        Row("Usage so far", context["usage"]),
        Row("Limit", context["limit"]),
        Row("Used", context["usage_percent"]),
        Row("Projected at period end", usd(event.projected_amount), strong=True),
        Row("Projected use", percent(event.projected_percent), strong=True),
        Row("Burn rate", f"{usd(event.burn_rate_per_hour)} per hour"),
    ]
    if runs_out:
        rows.append(Row("Limit reached at", runs_out, strong=True))
    return {
        **context,
        "projected": usd(event.projected_amount),
        "burn_rate": f"{usd(event.burn_rate_per_hour)} per hour",
        "projected_percent": percent(event.projected_percent),
        "runs_out_at": runs_out,
        "rows": _tail(context, rows),
        "footer": f"Forecast made at {when(event.forecast_at)}.",
    }


def period_closed_context(event: BudgetPeriodClosed, *, dashboard_url: str) -> dict[str, Any]:
    """Template variables for the `budget.period.closed` report."""
    context = _common(event, dashboard_url=dashboard_url, severity=severity_of(event))
    rows = [
        Row("Spent", context["usage"], strong=True),
        Row("Limit", context["limit"]),
        Row("Used", context["usage_percent"], strong=True),
        _left(event.usage_amount, event.limit_amount),
        Row("Calls counted", f"{event.events:,}"),
        Row("Thresholds crossed", str(event.alerts)),
    ]
    return {
        **context,
        "rows": _tail(context, rows),
        "footer": f"Period closed at {when(event.closed_at)}.",
    }
