"""Threshold arithmetic: which percent thresholds a usage change crosses, and how loudly."""

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from budget.domain.exact import exact

Severity = Literal["info", "warning", "critical"]

HUNDRED = Decimal(100)
_PLACES = Decimal("1e-18")
MAX_THRESHOLD = Decimal(1000)


def threshold_amount(limit: Decimal, percent: Decimal) -> Decimal:
    """The usage amount at which `percent` of `limit` is reached (exact)."""
    with exact():
        return limit * percent / HUNDRED


def crossed(
    thresholds: Iterable[Decimal], *, limit: Decimal, old: Decimal, new: Decimal
) -> list[Decimal]:
    """Percent thresholds crossed by usage moving from `old` to `new`, ascending."""
    return sorted({t for t in thresholds if old < threshold_amount(limit, t) <= new})


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
    with exact():
        if amount == amount.to_integral_value():
            return amount.quantize(Decimal(1))
        return amount.normalize()


def valid_threshold(percent: Decimal) -> bool:
    """Thresholds are percents in (0, 1000]."""
    return percent.is_finite() and 0 < percent <= MAX_THRESHOLD
