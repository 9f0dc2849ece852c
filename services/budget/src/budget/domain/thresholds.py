"""Threshold arithmetic: which thresholds a usage change crosses, and how loudly."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from budget.domain.exact import CONTEXT, exact
from budget.domain.model import Budget, ThresholdBasis

Severity = Literal["info", "warning", "critical"]

HUNDRED = Decimal(100)
_PLACES = Decimal("1e-18")
_ONE = Decimal(1)
MAX_THRESHOLD = Decimal(1000)


@dataclass(frozen=True, order=True)
class Threshold:
    """A percent of the limit, or an absolute USD amount."""

    basis: ThresholdBasis
    value: Decimal

    def amount(self, limit: Decimal) -> Decimal:
        """The usage at which this threshold is reached under `limit` (exact)."""
        return self.value if self.basis == "amount" else threshold_amount(limit, self.value)

    def percent(self, limit: Decimal) -> Decimal:
        """This threshold as a percent of `limit` (an amount threshold's share of it)."""
        return self.value if self.basis == "percent" else usage_percent(self.value, limit)


def thresholds_of(budget: Budget) -> list[Threshold]:
    """Every threshold of a budget, percent ones first."""
    return [Threshold("percent", t) for t in budget.thresholds] + [
        Threshold("amount", a) for a in budget.threshold_amounts
    ]


def threshold_amount(limit: Decimal, percent: Decimal) -> Decimal:
    """The usage amount at which `percent` of `limit` is reached (exact)."""
    with exact():
        return limit * percent / HUNDRED


def crossed(
    thresholds: Iterable[Threshold], *, limit: Decimal, old: Decimal, new: Decimal
) -> list[Threshold]:
    """Thresholds crossed by usage moving from `old` to `new`, lowest amount first."""
    hit = {t for t in thresholds if old < t.amount(limit) <= new}
    return sorted(hit, key=lambda t: (t.amount(limit), t))


def severity(threshold_percent: Decimal) -> Severity:
    """info below 80 %, warning below 100 %, critical at or above 100 %."""
    if threshold_percent < 80:
        return "info"
    if threshold_percent < HUNDRED:
        return "warning"
    return "critical"


def usage_percent(usage: Decimal, limit: Decimal) -> Decimal:
    """Usage as a percent of the limit, rounded once (half-even) to NUMERIC's 18 places."""
    with exact():
        return canonical((usage * HUNDRED / limit).quantize(_PLACES, rounding=ROUND_HALF_EVEN))


def canonical(amount: Decimal) -> Decimal:
    """The same value without trailing zeros or an exponent (`50.000` -> `50`, `1E+2` -> `100`)."""
    if amount == amount.to_integral_value(context=CONTEXT):
        return amount.quantize(_ONE, context=CONTEXT)
    return amount.normalize(CONTEXT)


def valid_threshold(percent: Decimal) -> bool:
    """Thresholds are percents in (0, 1000]."""
    return percent.is_finite() and 0 < percent <= MAX_THRESHOLD
