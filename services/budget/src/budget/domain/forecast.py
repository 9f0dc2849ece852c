"""Forecast: project a period's spend to its end from the burn rate so far (linear)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from budget.domain.exact import ZERO, exact
from budget.domain.periods import PeriodBounds
from budget.domain.thresholds import HUNDRED, canonical, usage_percent

_MICROS = Decimal(1_000_000)
_HOUR = Decimal(3600)
_PLACES = Decimal("1e-18")


@dataclass(frozen=True)
class ForecastPolicy:
    """How much data a forecast needs before it is trusted.

    Early in a period a single burst extrapolates to absurd totals, so no forecast is made
    until `min_elapsed_fraction` of the period has passed and usage has reached
    `min_usage_percent` of the limit.
    """

    min_elapsed_fraction: Decimal = Decimal("0.1")
    min_usage_percent: Decimal = Decimal(5)


@dataclass(frozen=True)
class Forecast:
    """Where spend ends at the current rate, and when it reaches the limit."""

    projected_amount: Decimal
    projected_percent: Decimal
    burn_rate_per_hour: Decimal
    runs_out_at: datetime | None  # None: the limit is not reached before the period ends
    exceeds_limit: bool


def _micros(delta: timedelta) -> Decimal:
    return Decimal(delta // timedelta(microseconds=1))


def forecast(
    period: PeriodBounds,
    *,
    usage: Decimal,
    limit: Decimal,
    now: datetime,
    policy: ForecastPolicy,
) -> Forecast | None:
    """The linear projection at `now`, or None when there is too little data to trust one."""
    if not period.start < now < period.end or usage <= ZERO:
        return None
    elapsed, length = _micros(now - period.start), _micros(period.end - period.start)
    with exact():
        if elapsed / length < policy.min_elapsed_fraction:
            return None
        if usage * HUNDRED / limit < policy.min_usage_percent:
            return None
        projected = (usage * length / elapsed).quantize(_PLACES)
        rate = (usage * _MICROS * _HOUR / elapsed).quantize(_PLACES)
        runs_out = _runs_out_at(period, elapsed=elapsed, length=length, usage=usage, limit=limit)
    return Forecast(
        projected_amount=canonical(projected),
        projected_percent=usage_percent(projected, limit),
        burn_rate_per_hour=canonical(rate),
        runs_out_at=runs_out,
        exceeds_limit=projected > limit,
    )


def _runs_out_at(
    period: PeriodBounds, *, elapsed: Decimal, length: Decimal, usage: Decimal, limit: Decimal
) -> datetime | None:
    # At a constant rate usage/elapsed, the limit is reached limit/rate after the start.
    with exact():
        at = (elapsed * limit / usage).to_integral_value(rounding=ROUND_FLOOR)
    if at >= length:
        return None
    return period.start + timedelta(microseconds=int(at))
