"""Alerts a charge raises, forecast alerts, and re-evaluation when a budget changes."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D
from itertools import count
from uuid import UUID

import pytest
from budget.domain.alerts import FiredKey, alerts_for, forecast_alert, reevaluate
from budget.domain.forecast import ForecastPolicy
from budget.domain.model import Budget
from budget.domain.periods import PeriodBounds
from rex_testkit.budget.builders import a_budget

MAY = PeriodBounds(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))
EARLY = datetime(2024, 5, 2, tzinfo=UTC)  # 1/31 of the period: too early to forecast
MID = datetime(2024, 5, 16, 12, tzinfo=UTC)  # exactly half of May
POLICY = ForecastPolicy()
BUDGET = a_budget(1)


def ids() -> "count[int]":
    return count(1)


def new_id(counter: "count[int]") -> UUID:
    return UUID(int=next(counter))


def raised(budget: Budget, added: str, total: str) -> list[tuple[str, D, str]]:
    counter = ids()
    found = alerts_for(
        budget,
        MAY,
        added=D(added),
        new_usage=D(total),
        crossed_at=EARLY,
        new_id=lambda: new_id(counter),
    )
    return [(a.threshold.basis, a.threshold_percent, a.severity) for a in found]


def test_a_charge_that_crosses_thresholds_raises_one_alert_each_lowest_first() -> None:
    assert raised(BUDGET, "4.6", "9.5") == [
        ("percent", D(50), "info"),
        ("percent", D(80), "warning"),
        ("percent", D(90), "warning"),
    ]


def test_a_charge_below_every_threshold_raises_nothing() -> None:
    assert raised(BUDGET, "1", "4.99") == []


def test_reaching_the_limit_exactly_is_critical() -> None:
    assert raised(BUDGET, "0.01", "10.00") == [("percent", D(100), "critical")]


def test_a_negative_adjustment_crosses_nothing() -> None:
    assert raised(BUDGET, "-3", "6") == []


def test_an_amount_threshold_reports_its_percent_and_severity_of_the_limit() -> None:
    budget = replace(BUDGET, thresholds=(), threshold_amounts=(D("8.5"), D(12)))
    assert raised(budget, "9", "9") == [("amount", D(85), "warning")]
    assert raised(budget, "3", "12") == [("amount", D(120), "critical")]


def test_an_alert_carries_usage_percent_and_the_threshold_amount() -> None:
    counter = ids()
    [alert] = alerts_for(
        BUDGET,
        MAY,
        added=D(1),
        new_usage=D("5.5"),
        crossed_at=EARLY,
        new_id=lambda: new_id(counter),
    )
    assert (alert.usage_amount, alert.usage_percent, alert.threshold_amount, alert.kind) == (
        D("5.5"),
        D(55),
        D(5),
        "actual",
    )
    assert alert.key == ("percent", D(50), "actual")


@pytest.mark.parametrize(
    ("usage", "at", "fires"),
    [
        ("6", MID, True),  # projects 12 > 10
        ("5", MID, False),  # projects exactly 10: not over
        ("6", EARLY, False),  # too early in the period to trust a rate
        ("0.4", datetime(2024, 5, 10, tzinfo=UTC), False),  # too little spent (4 % < 5 %)
        ("10", MID, False),  # at the limit already: the 100 % threshold speaks
        ("6", datetime(2024, 6, 1, tzinfo=UTC), False),  # the period is over
    ],
)
def test_a_forecast_alert_fires_only_on_enough_data_and_a_projection_over_the_limit(
    usage: str, at: datetime, fires: bool
) -> None:
    counter = ids()
    alert = forecast_alert(
        BUDGET, MAY, usage=D(usage), now=at, policy=POLICY, new_id=lambda: new_id(counter)
    )
    assert (alert is not None) is fires


def test_a_forecast_alert_says_when_the_budget_runs_out() -> None:
    alert = forecast_alert(
        BUDGET, MAY, usage=D(8), now=MID, policy=POLICY, new_id=lambda: UUID(int=9)
    )
    assert alert is not None and alert.forecast is not None
    assert (alert.kind, alert.severity, alert.key) == (
        "forecast",
        "warning",
        ("percent", D(100), "forecast"),
    )
    assert alert.forecast.projected_amount == D(16)
    # 8 spent in 15.5 days: 10 is reached after 19.375 days, on May 20 at 09:00.
    assert alert.forecast.runs_out_at == datetime(2024, 5, 20, 9, tzinfo=UTC)


def plan(
    budget: Budget, usage: str, fired: set[FiredKey], at: datetime = EARLY
) -> tuple[list[FiredKey], list[FiredKey]]:
    counter = ids()
    result = reevaluate(
        budget,
        MAY,
        usage=D(usage),
        fired=fired,
        now=at,
        policy=POLICY,
        new_id=lambda: new_id(counter),
    )
    return [a.key for a in result.fire], result.rearm


def fired(*percents: int, kind: str = "actual") -> set[FiredKey]:
    return {("percent", D(p), kind) for p in percents}  # type: ignore[misc]


def test_raising_the_limit_rearms_thresholds_no_longer_reached() -> None:
    raised_limit = replace(BUDGET, limit_amount=D(20))
    fire, rearm = plan(raised_limit, "12", fired(50, 80, 90))
    assert fire == [] and sorted(rearm) == sorted(fired(80, 90))


def test_lowering_the_limit_fires_thresholds_now_reached_lowest_first() -> None:
    lowered = replace(BUDGET, limit_amount=D(5))
    fire, rearm = plan(lowered, "4.6", fired(50))
    assert fire == [("percent", D(80), "actual"), ("percent", D(90), "actual")] and rearm == []


def test_an_unchanged_budget_changes_no_threshold_state() -> None:
    assert plan(BUDGET, "9.5", fired(50, 80, 90)) == ([], [])


def test_a_threshold_added_below_the_usage_fires_once_at_once() -> None:
    more = replace(BUDGET, threshold_amounts=(D(2),))
    fire, _ = plan(more, "3", set())
    assert fire == [("amount", D(2), "actual")]


def test_a_raised_limit_rearms_the_forecast_and_a_lowered_one_fires_it() -> None:
    _, rearm = plan(replace(BUDGET, limit_amount=D(100)), "6", fired(100, kind="forecast"), MID)
    assert rearm == [("percent", D(100), "forecast")]
    fire, _ = plan(replace(BUDGET, limit_amount=D(11)), "6", fired(50), MID)
    assert fire == [("percent", D(100), "forecast")]


def test_the_forecast_is_not_rearmed_for_lack_of_data() -> None:
    _, rearm = plan(BUDGET, "6", fired(50, 100, kind="forecast"), EARLY)
    assert rearm == []
