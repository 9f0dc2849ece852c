"""The linear forecast: exact projections, run-out times, and no forecast from too little."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from budget.domain.forecast import ForecastPolicy, forecast
from budget.domain.periods import PeriodBounds

DAY = PeriodBounds(datetime(2024, 5, 10, tzinfo=UTC), datetime(2024, 5, 11, tzinfo=UTC))
POLICY = ForecastPolicy(min_elapsed_fraction=D("0.1"), min_usage_percent=D(5))


def may(hour: int, day: int = 10) -> datetime:
    """May `day` 2024 at `hour` UTC (the forecast period is May 10)."""
    return datetime(2024, 5, day, hour, tzinfo=UTC)


CASES = [
    # (usage, limit, now, projected, percent, runs out at, exceeds)
    ("3", "10", may(6), "12", "120", may(20), True),
    ("2", "10", may(12), "4", "40", None, False),
    ("5", "10", may(12), "10", "100", None, False),  # exactly: not over
    ("1", "3", may(8), "3", "100", None, False),
    ("12", "10", may(12), "24", "240", may(10), True),
]


@pytest.mark.parametrize(
    ("usage", "limit", "now", "projected", "percent", "runs_out", "over"), CASES
)
def test_spend_is_projected_to_the_period_end_at_the_rate_so_far(
    usage: str,
    limit: str,
    now: datetime,
    projected: str,
    percent: str,
    runs_out: datetime | None,
    over: bool,
) -> None:
    result = forecast(DAY, usage=D(usage), limit=D(limit), now=now, policy=POLICY)
    assert result is not None
    assert (result.projected_amount, result.projected_percent) == (D(projected), D(percent))
    assert (result.runs_out_at, result.exceeds_limit) == (runs_out, over)


def test_the_burn_rate_is_per_hour_and_exact() -> None:
    result = forecast(DAY, usage=D("0.9"), limit=D(1), now=may(3), policy=POLICY)
    assert result is not None and result.burn_rate_per_hour == D("0.3")


@pytest.mark.parametrize(
    ("usage", "now"),
    [
        ("9", may(2)),  # 8 % of the day: too early
        ("0.4", may(12)),  # 4 % of the limit: too little
        ("0", may(12)),  # nothing spent
        ("-1", may(12)),  # refunds only
        ("5", may(0, day=11)),  # the period has ended
        ("5", may(0, day=9)),  # not started
    ],
)
def test_no_forecast_from_too_little_data(usage: str, now: datetime) -> None:
    assert forecast(DAY, usage=D(usage), limit=D(10), now=now, policy=POLICY) is None


def test_the_thresholds_of_trust_are_settings() -> None:
    eager = ForecastPolicy(min_elapsed_fraction=D(0), min_usage_percent=D(0))
    at = datetime(2024, 5, 10, 0, 0, 1, tzinfo=UTC)
    result = forecast(DAY, usage=D("0.000001"), limit=D(10), now=at, policy=eager)
    assert result is not None and result.projected_amount == D("0.0864")
