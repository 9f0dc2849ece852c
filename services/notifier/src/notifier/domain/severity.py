"""The severity of any budget event: its own field, else what its numbers say."""

from decimal import Decimal
from typing import get_args

from rex_shared.events import BudgetForecastExceeded, Severity

SEVERITIES: tuple[Severity, ...] = get_args(Severity)


def severity_of(event: object) -> Severity:
    """`severity` when the event has one; a forecast is a warning; a report by its usage."""
    explicit = getattr(event, "severity", None)
    if explicit in SEVERITIES:
        return explicit  # type: ignore[no-any-return]
    if isinstance(event, BudgetForecastExceeded):
        return "warning"  # not spent yet: time to act, not an overrun
    used = getattr(event, "usage_percent", None)
    if not isinstance(used, Decimal):
        return "info"
    # The budget service's bands: info below 80 %, warning below 100 %, critical from 100 %.
    return "critical" if used >= 100 else "warning" if used >= 80 else "info"
