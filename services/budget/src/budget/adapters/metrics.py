"""Prometheus figures of the budget service (monitoring only: floats never feed back into money)."""

from decimal import Decimal

from prometheus_client import Counter, Gauge

from budget.domain.alerts import Alert
from budget.domain.model import Budget

UTILIZATION = Gauge(
    "rex_budget_utilization_ratio",
    "Current period usage divided by the limit",
    ["org", "budget_id", "budget_name", "budget_type"],
)
ALERTS = Counter("rex_budget_alerts_total", "Budget alerts fired", ["severity", "kind"])


def utilization(budget: Budget, usage: Decimal) -> None:
    """Show a budget's current use of its limit."""
    ratio = usage / budget.limit_amount if budget.limit_amount else Decimal(0)
    UTILIZATION.labels(budget.org_id, str(budget.id), budget.name, budget.type).set(float(ratio))


def alert_fired(alert: Alert) -> None:
    """Count one alert that fired for the first time in its period."""
    ALERTS.labels(alert.severity, alert.kind).inc()
