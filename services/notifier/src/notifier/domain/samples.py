"""Sample events for previews: realistic values, the same every time."""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from rex_shared import topics
from rex_shared.events import BudgetThresholdCrossed, Contract, Severity

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


SampleBuilder = Callable[..., Contract]

# event type -> sample builder taking `kind` and `severity`; what the preview endpoint offers.
SAMPLES: dict[str, SampleBuilder] = {topics.BUDGET_THRESHOLD_CROSSED: threshold_crossed}
