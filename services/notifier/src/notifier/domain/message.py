"""What an alert says: the template variables of each event, computed once, pure."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from rex_shared.events import BudgetThresholdCrossed, Severity
from rex_shared.money import display


@dataclass(frozen=True)
class SeverityStyle:
    """How a severity looks: a label, a colour and an icon (emoji for Slack)."""

    label: str
    colour: str
    icon: str
    slack_emoji: str


SEVERITY_STYLES: dict[Severity, SeverityStyle] = {
    "info": SeverityStyle("Info", "#2563eb", "\u2139\ufe0f", ":information_source:"),
    "warning": SeverityStyle("Warning", "#d97706", "\u26a0\ufe0f", ":warning:"),
    "critical": SeverityStyle("Critical", "#dc2626", "\U0001f6a8", ":rotating_light:"),
}


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


def threshold_context(event: BudgetThresholdCrossed, *, dashboard_url: str) -> dict[str, Any]:
    """Template variables for `budget.threshold.crossed` (actual and forecast)."""
    remaining = event.limit_amount - event.usage_amount
    return {
        "budget_name": event.budget_name,
        "budget_type": event.budget_type,
        "entity_id": event.entity_id,
        "kind": event.kind,
        "severity": event.severity,
        "style": SEVERITY_STYLES[event.severity],
        "threshold": percent(event.threshold),
        "usage_label": "Forecast usage" if event.kind == "forecast" else "Usage",
        "usage": usd(event.usage_amount),
        "limit": usd(event.limit_amount),
        "usage_percent": percent(event.usage_percent),
        "remaining": usd(max(remaining, Decimal(0))),
        # Over the limit, "remaining $0" hides how far over; say it instead.
        "over_by": usd(-remaining) if remaining < 0 else None,
        "period_start": when(event.period_start),
        "period_end": when(event.period_end),
        "crossed_at": when(event.crossed_at),
        "is_hard_limit": event.is_hard_limit,
        "link": budget_link(dashboard_url, event.budget_id),
    }
