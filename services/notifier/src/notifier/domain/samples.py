"""Sample events for previews: realistic values, the same every time."""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from rex_shared import topics
from rex_shared.events import (
    BudgetForecastExceeded,
    BudgetPeriodClosed,
    BudgetThresholdCrossed,
    Contract,
    Severity,
)

_THRESHOLDS: dict[Severity, Decimal] = {
    "info": Decimal(50),
    "warning": Decimal(80),
    "critical": Decimal(100),
}


def threshold_crossed(
    *, kind: Literal["actual", "forecast"], severity: Severity
) -> BudgetThresholdCrossed:
    """A `budget.threshold.crossed` for a monthly project budget of $500."""
    threshold = _THRESHOLDS[severity]
    usage = Decimal(500) * (threshold + Decimal("3.5")) / 100
    return BudgetThresholdCrossed(
        alert_id=UUID("00000000-0000-4000-8000-000000000001"),
        budget_id=UUID("00000000-0000-4000-8000-000000000002"),
        budget_name="RAG evaluations (sample)",
        budget_type="project",
        entity_id="project-sample",
        org_id="org-sample",
        period_start=datetime(2026, 11, 1, tzinfo=UTC),
        period_end=datetime(2026, 12, 1, tzinfo=UTC),
        threshold=threshold,
        kind=kind,
        severity=severity,
        usage_amount=usage,
        limit_amount=Decimal(500),
        usage_percent=threshold + Decimal("3.5"),
        is_hard_limit=severity == "critical",
        crossed_at=datetime(2026, 11, 20, 14, 30, tzinfo=UTC),
    )


def forecast_exceeded(**_: object) -> BudgetForecastExceeded:
    """A `budget.forecast.exceeded` for the same budget, ten days into the month."""
    return BudgetForecastExceeded(
        alert_id=UUID("00000000-0000-4000-8000-000000000003"),
        budget_id=UUID("00000000-0000-4000-8000-000000000002"),
        budget_name="RAG evaluations (sample)",
        budget_type="project",
        entity_id="project-sample",
        org_id="org-sample",
        period_start=datetime(2026, 11, 1, tzinfo=UTC),
        period_end=datetime(2026, 12, 1, tzinfo=UTC),
        usage_amount=Decimal("210"),
        limit_amount=Decimal(500),
        usage_percent=Decimal(42),
        projected_amount=Decimal("630"),
        projected_percent=Decimal(126),
        burn_rate_per_hour=Decimal("0.875"),
        runs_out_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        is_hard_limit=False,
        forecast_at=datetime(2026, 11, 11, tzinfo=UTC),
    )


_CLOSED_USAGE: dict[Severity, Decimal] = {
    "info": Decimal("312.40"),
    "warning": Decimal("455.10"),
    "critical": Decimal("537.25"),
}


def period_closed(*, severity: Severity = "info", **_: object) -> BudgetPeriodClosed:
    """A `budget.period.closed` report whose usage puts it in `severity`'s band."""
    usage = _CLOSED_USAGE[severity]
    return BudgetPeriodClosed(
        budget_id=UUID("00000000-0000-4000-8000-000000000002"),
        budget_name="RAG evaluations (sample)",
        budget_type="project",
        entity_id="project-sample",
        org_id="org-sample",
        period_start=datetime(2026, 10, 1, tzinfo=UTC),
        period_end=datetime(2026, 11, 1, tzinfo=UTC),
        usage_amount=usage,
        limit_amount=Decimal(500),
        usage_percent=usage / 5,
        events=18_342,
        alerts=2 if severity != "info" else 0,
        is_hard_limit=False,
        closed_at=datetime(2026, 11, 1, 0, 0, 5, tzinfo=UTC),
    )


SampleBuilder = Callable[..., Contract]

# event type -> sample builder taking `kind` and `severity`; what the preview endpoint offers.
SAMPLES: dict[str, SampleBuilder] = {
    topics.BUDGET_THRESHOLD_CROSSED: threshold_crossed,
    topics.BUDGET_FORECAST_EXCEEDED: forecast_exceeded,
    topics.BUDGET_PERIOD_CLOSED: period_closed,
}
