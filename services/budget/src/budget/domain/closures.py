"""A closed period: the totals `budget.period.closed` reports, with a deterministic id."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid5

from rex_shared.events import REX_NAMESPACE

from budget.domain.model import Budget
from budget.domain.periods import PeriodBounds


@dataclass(frozen=True)
class Closure:
    """A period that ended, as it stood when it was closed."""

    budget: Budget
    period: PeriodBounds
    usage_amount: Decimal
    events: int
    alerts: int
    closed_at: datetime

    @property
    def event_id(self) -> UUID:
        """The same (budget, period) always closes under the same event id."""
        return closure_id(self.budget.id, self.period.start)


def closure_id(budget_id: UUID, period_start: datetime) -> UUID:
    """`uuid5(REX_NS, "period-closed:<budget>:<start>")`: a re-send keeps its id."""
    return uuid5(REX_NAMESPACE, f"period-closed:{budget_id}:{period_start.isoformat()}")
