"""The usage handler against in-memory storage: counting, idempotency, alerts, lock order."""

from datetime import UTC, datetime
from decimal import Decimal as D
from functools import partial
from itertools import count
from typing import Any, Literal
from uuid import UUID, uuid4

import pytest
from budget.domain.forecast import ForecastPolicy
from budget.domain.model import Budget
from budget.handlers.usage import handle_cost_recorded
from budget_fakes import FakeDatabase, Hold
from rex_shared import topics
from rex_shared.consumer import Received
from rex_shared.events import (
    BudgetForecastExceeded,
    BudgetPeriodClosed,
    BudgetThresholdCrossed,
    LlmCostRecorded,
)
from rex_testkit.budget.builders import a_budget, a_cost

NOW = datetime(2024, 5, 10, 12, tzinfo=UTC)


def budget(n: int, type_: str, entity: str, limit: str = "1") -> Budget:
    return a_budget(n, type_, entity, limit_amount=D(limit), is_hard_limit=True)


def event(
    total: str,
    *,
    project: str = "p1",
    user: str = "u1",
    status: Literal["priced", "unpriced"] = "priced",
    event_id: str | None = None,
    at: datetime = NOW,
    evaluation: UUID | None = None,
) -> Received[LlmCostRecorded]:
    cost = a_cost(total, at=at, project=project, user=user, status=status, evaluation=evaluation)
    return Received(event_id or str(uuid4()), cost)


# A fraction of the period that is never reached: these tests look at actual thresholds.
NO_FORECAST = ForecastPolicy(min_elapsed_fraction=D(2))


def handler(db: FakeDatabase, forecast: ForecastPolicy = NO_FORECAST) -> Any:
    ids = count(1)
    return partial(
        handle_cost_recorded,
        unit_of_work=db.unit_of_work,
        now=lambda: NOW,
        new_id=lambda: UUID(int=next(ids)),
        forecast=forecast,
    )


async def test_costs_count_against_org_project_and_user_budgets_at_once() -> None:
    db = FakeDatabase(
        [
            budget(1, "organization", "o1"),
            budget(2, "project", "p1"),
            budget(3, "user", "u1"),
            budget(4, "project", "p2"),
        ]
    )
    await handler(db)([event("0.1"), event("0.02", user="u2")])
    usage = {k[0].int: v for k, v in db.state.usage.items()}
    assert usage == {1: D("0.12"), 2: D("0.12"), 3: D("0.1")}


async def test_a_redelivered_event_is_counted_once() -> None:
    db = FakeDatabase([budget(1, "organization", "o1")])
    handle = handler(db)
    once = event("0.3", event_id="e-1")
    await handle([once, once])
    await handle([once])
    assert list(db.state.usage.values()) == [D("0.3")]


async def test_unpriced_events_count_nothing_but_are_marked_seen() -> None:
    db = FakeDatabase([budget(1, "organization", "o1")])
    await handler(db)([event("0", status="unpriced", event_id="e-u")])
    assert db.state.usage == {}
    assert db.state.seen == {"e-u"}


async def test_each_threshold_fires_once_per_period_with_its_event_in_the_outbox() -> None:
    db = FakeDatabase([budget(1, "organization", "o1", limit="1")])
    handle = handler(db)
    for total in ("0.5", "0.2", "0.2", "0.1", "5"):
        await handle([event(total)])
    crossed = [BudgetThresholdCrossed.model_validate_json(e.data) for e in db.state.outbox]
    assert [(c.threshold, c.severity) for c in crossed] == [
        (D(50), "info"),
        (D(80), "warning"),
        (D(90), "warning"),
        (D(100), "critical"),
    ]
    first = db.state.outbox[0]
    assert (first.topic, first.key, first.id, first.source) == (
        topics.BUDGET_THRESHOLD_CROSSED,
        "o1",
        str(crossed[0].alert_id),
        "rex/budget",
    )
    assert crossed[0].usage_amount == D("0.5") and crossed[0].usage_percent == D(50)
    assert crossed[3].usage_amount == D("1") and crossed[3].is_hard_limit is True


async def test_a_new_period_rearms_its_thresholds() -> None:
    db = FakeDatabase([budget(1, "organization", "o1", limit="1")])
    handle = handler(db)
    await handle([event("0.6", at=datetime(2024, 4, 30, 23, tzinfo=UTC))])
    await handle([event("0.6", at=datetime(2024, 5, 1, 0, tzinfo=UTC))])
    assert [a.period.start.month for a in db.state.alerts] == [4, 5]


async def test_period_rows_are_updated_in_budget_order_whatever_the_event_order() -> None:
    db = FakeDatabase(
        [budget(3, "user", "u1"), budget(1, "organization", "o1"), budget(2, "project", "p1")]
    )
    await handler(db)([event("0.1", event_id="b"), event("0.1", event_id="a")])
    calls = db.state.calls
    assert [k[0].int for name, k in calls if name == "add_usage"] == [1, 2, 3]  # type: ignore[index]


async def test_a_failing_batch_leaves_nothing_behind() -> None:
    db = FakeDatabase([budget(1, "organization", "o1")])

    def broken_clock() -> datetime:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await handle_cost_recorded(
            [event("0.7", event_id="e-x")], unit_of_work=db.unit_of_work, now=broken_clock
        )
    assert db.state.seen == set() and db.state.usage == {} and db.state.outbox == []


async def test_negative_adjustments_subtract_exactly_and_cross_nothing() -> None:
    db = FakeDatabase([budget(1, "organization", "o1", limit="1")])
    handle = handler(db)
    await handle([event("0.7")])
    await handle([event("-0.25"), event("0.000000000000000001")])
    assert list(db.state.usage.values()) == [D("0.450000000000000001")]
    assert [a.threshold.value for a in db.state.alerts] == [D(50)]  # only on the way up


async def test_the_same_event_twice_in_one_batch_counts_once() -> None:
    db = FakeDatabase([budget(1, "organization", "o1")])
    twice = event("0.2", event_id="dup")
    await handler(db)([twice, event("0.1"), twice])
    assert list(db.state.usage.values()) == [D("0.3")]


async def test_a_forecast_over_the_limit_fires_once_with_both_events() -> None:
    db = FakeDatabase([budget(1, "organization", "o1", limit="10")])
    handle = handler(db, ForecastPolicy())
    # 4 spent by May 10 12:00 (9.5 of 31 days): 13.05 at the end of May at this rate.
    await handle([event("4")])
    await handle([event("0.5")])
    forecasts = [e for e in db.state.outbox if e.topic == topics.BUDGET_FORECAST_EXCEEDED]
    crossed = [
        BudgetThresholdCrossed.model_validate_json(e.data)
        for e in db.state.outbox
        if e.topic == topics.BUDGET_THRESHOLD_CROSSED
    ]
    assert [c.kind for c in crossed] == ["forecast"]  # 4.5 of 10 reaches no actual threshold
    [only] = forecasts
    data = BudgetForecastExceeded.model_validate_json(only.data)
    assert data.alert_id == crossed[0].alert_id and data.projected_amount > D(10)
    assert data.runs_out_at is not None and data.runs_out_at < data.period_end
    assert crossed[0].projected_amount == data.projected_amount


async def test_costs_of_an_evaluation_shrink_its_hold_and_refunds_give_back() -> None:
    db = FakeDatabase([])
    evaluation = uuid4()
    db.state.holds[("o1", evaluation)] = Hold(D(10))
    handle = handler(db)
    await handle([event("3", evaluation=evaluation), event("1", evaluation=uuid4())])
    assert db.state.holds[("o1", evaluation)].held == D(7)
    await handle([event("9", evaluation=evaluation)])
    assert db.state.holds[("o1", evaluation)].held == D(0)  # floored
    await handle([event("-4", evaluation=evaluation)])
    assert db.state.holds[("o1", evaluation)].held == D(2)


async def test_the_first_event_of_a_new_period_closes_the_one_before() -> None:
    db = FakeDatabase([budget(1, "organization", "o1", limit="1")])
    handle = handler(db)
    await handle([event("0.6", at=datetime(2024, 4, 30, 23, tzinfo=UTC))])
    await handle([event("0.1", at=datetime(2024, 4, 30, 23, 30, tzinfo=UTC))])
    assert not [e for e in db.state.outbox if e.topic == topics.BUDGET_PERIOD_CLOSED]
    await handle([event("0.2", at=datetime(2024, 5, 1, 0, tzinfo=UTC))])
    await handle([event("0.2", at=datetime(2024, 5, 2, 0, tzinfo=UTC))])
    [closed] = [
        BudgetPeriodClosed.model_validate_json(e.data)
        for e in db.state.outbox
        if e.topic == topics.BUDGET_PERIOD_CLOSED
    ]
    assert (closed.period_start.month, closed.usage_amount, closed.alerts) == (4, D("0.7"), 1)
    assert closed.usage_percent == D(70)
