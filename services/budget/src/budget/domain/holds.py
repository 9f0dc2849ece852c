"""Pre-flight checks and holds: would an estimated cost fit every budget it falls under?"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from budget.domain.exact import ZERO, exact
from budget.domain.model import Budget
from budget.domain.thresholds import canonical, usage_percent

# A budget this close to its limit after the estimate earns a warning even when it fits.
WARN_AT_PERCENT = Decimal(80)


@dataclass(frozen=True)
class Standing:
    """A budget's current period: usage counted and holds still active."""

    budget: Budget
    usage: Decimal
    held: Decimal

    def after(self, estimate: Decimal) -> Decimal:
        """Usage plus holds plus `estimate`."""
        with exact():
            return self.usage + self.held + estimate


@dataclass(frozen=True)
class LimitWarning:
    """A soft limit the estimate would pass, or a budget it would bring near its limit."""

    budget: Budget
    message: str
    usage_percent_after: Decimal


@dataclass(frozen=True)
class Verdict:
    """Whether the estimate fits: hard limits it would pass, and warnings."""

    exceeded: list[Standing]
    warnings: list[LimitWarning]

    @property
    def allowed(self) -> bool:
        return not self.exceeded


def judge(standings: Sequence[Standing], estimate: Decimal) -> Verdict:
    """Hard limits refuse when usage + holds + estimate would pass them; soft ones warn."""
    exceeded, warnings = [], []
    for s in standings:
        after = s.after(estimate)
        percent = usage_percent(after, s.budget.limit_amount)
        over = after > s.budget.limit_amount
        if over and s.budget.is_hard_limit:
            exceeded.append(s)
        elif over:
            warnings.append(LimitWarning(s.budget, _over_soft(s, after), percent))
        elif percent >= WARN_AT_PERCENT:
            message = f"would reach {percent} % of the limit"
            warnings.append(LimitWarning(s.budget, message, percent))
    return Verdict(exceeded, warnings)


def _over_soft(s: Standing, after: Decimal) -> str:
    with exact():
        excess = canonical(after - s.budget.limit_amount)
    return f"would exceed the soft limit of {s.budget.limit_amount} by {excess}"


def released(held: Decimal) -> Decimal:
    """What settling a hold gives back (never negative)."""
    return canonical(max(held, ZERO))
