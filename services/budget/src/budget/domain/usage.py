"""Usage bookkeeping: a batch of costs becomes one charge per (budget, period)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from budget.domain.exact import ZERO, exact
from budget.domain.model import Budget, Payer, covers
from budget.domain.periods import PeriodBounds, period_bounds
from budget.domain.thresholds import canonical, usage_percent


@dataclass(frozen=True)
class Cost:
    """One priced call: who pays, how much, and when it happened."""

    payer: Payer
    amount: Decimal
    occurred_at: datetime


@dataclass(frozen=True)
class Charge:
    """What a batch adds to one budget's period."""

    budget: Budget
    period: PeriodBounds
    amount: Decimal
    events: int


def charges(costs: Iterable[Cost], budgets: Sequence[Budget]) -> list[Charge]:
    """Sum costs per (budget, period), ordered by (budget id, period start).

    The order is the lock order: every instance takes period rows in the same order, so two
    instances updating the same budgets cannot deadlock.
    """
    sums: dict[tuple[UUID, datetime], tuple[Budget, PeriodBounds, Decimal, int]] = {}
    for cost in costs:
        for budget in budgets:
            if not covers(budget, cost.payer):
                continue
            bounds = period_bounds(budget.period, cost.occurred_at, budget.timezone)
            key = (budget.id, bounds.start)
            _, _, total, count = sums.get(key, (budget, bounds, ZERO, 0))
            with exact():
                sums[key] = (budget, bounds, total + cost.amount, count + 1)
    return [Charge(b, p, amount, n) for _, (b, p, amount, n) in sorted(sums.items())]


@dataclass(frozen=True)
class PeriodStatus:
    """Where a budget stands in one period."""

    period: PeriodBounds
    usage_amount: Decimal
    usage_percent: Decimal
    remaining: Decimal
    events: int


def period_status(
    budget: Budget, period: PeriodBounds, usage: Decimal, events: int
) -> PeriodStatus:
    """Usage, percent of the limit and what is left (never below zero) in `period`."""
    with exact():
        remaining = max(budget.limit_amount - usage, ZERO)
    return PeriodStatus(
        period,
        canonical(usage),
        usage_percent(usage, budget.limit_amount),
        canonical(remaining),
        events,
    )
