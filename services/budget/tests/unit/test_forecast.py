"""The linear forecast: exact projections, run-out times, and no forecast from too little."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from budget.domain.forecast import ForecastPolicy, forecast
from budget.domain.periods import PeriodBounds

DAY = PeriodBounds(datetime(2024, 5, 10, tzinfo=UTC), datetime(2024, 5, 11, tzinfo=UTC))
POLICY = ForecastPolicy(min_elapsed_fraction=D("0.1"), min_usage_percent=D(5))

CASES = [
    # (usage, limit, now, projected, percent, runs out at, exceeds)
    (
        "3",
        "10",
        datetime(2024, 5, 10, 6, tzinfo=UTC),
        "12",
        "120",
        datetime(2024, 5, 10, 20, tzinfo=UTC),
        True,
    ),
    ("2", "10", datetime(2024, 5, 10, 12, tzinfo=UTC), "4", "40", None, False),
    (
        "5",
        "10",
        datetime(2024, 5, 10, 12, tzinfo=UTC),
        "10",
        "100",
        None,
        False,
    ),  # exactly: not over
    ("1", "3", datetime(2024, 5, 10, 8, tzinfo=UTC), "3", "100", None, False),
    (
        "12",
        "10",
        datetime(2024, 5, 10, 12, tzinfo=UTC),
        "24",
        "240",
        datetime(2024, 5, 10, 10, tzinfo=UTC),
        True,
    ),
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
    result = forecast(
        DAY, usage=D("0.9"), limit=D(1), now=datetime(2024, 5, 10, 3, tzinfo=UTC), policy=POLICY
    )
    assert result is not None and result.burn_rate_per_hour == D("0.3")


@pytest.mark.parametrize(
    ("usage", "now"),
    [
        ("9", datetime(2024, 5, 10, 2, tzinfo=UTC)),  # 8 % of the day: too early
        ("0.4", datetime(2024, 5, 10, 12, tzinfo=UTC)),  # 4 % of the limit: too little
        ("0", datetime(2024, 5, 10, 12, tzinfo=UTC)),  # nothing spent
        ("-1", datetime(2024, 5, 10, 12, tzinfo=UTC)),  # refunds only
        ("5", datetime(2024, 5, 11, tzinfo=UTC)),  # the period has ended
        ("5", datetime(2024, 5, 9, tzinfo=UTC)),  # not started
    ],
)
def test_no_forecast_from_too_little_data(usage: str, now: datetime) -> None:
    assert forecast(DAY, usage=D(usage), limit=D(10), now=now, policy=POLICY) is None


def test_the_thresholds_of_trust_are_settings() -> None:
    eager = ForecastPolicy(min_elapsed_fraction=D(0), min_usage_percent=D(0))
    at = datetime(2024, 5, 10, 0, 0, 1, tzinfo=UTC)
    result = forecast(DAY, usage=D("0.000001"), limit=D(10), now=at, policy=eager)
    assert result is not None and result.projected_amount == D("0.0864")
