"""A budget changed mid-period, absolute thresholds, forecasts and closing periods."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from budget.domain.periods import period_bounds
from budget_it import cost_recorded, create, get_data, publish, wait_for_usage
from rex_shared.events import BudgetForecastExceeded, BudgetPeriodClosed, BudgetThresholdCrossed
from rex_testkit.kafka import TopicTail

BUDGETS = "/api/v1/budgets"


def actual_of(budget_id: str) -> Any:
    def match(record: Any) -> bool:
        data = json.loads(record.value)
        return bool(data["budget_id"] == budget_id and data["kind"] == "actual")

    return match


def thresholds(records: list[Any]) -> list[D]:
    return sorted(BudgetThresholdCrossed.model_validate_json(r.value).threshold for r in records)


async def test_lowering_the_limit_fires_now_crossed_thresholds_and_raising_rearms_them(
    client: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    crossings: TopicTail,
    db: asyncpg.Pool,
    admin: dict[str, str],
    org: str,
) -> None:
    budget_id = await create(client, admin, type="organization", limit_amount="10")
    await publish(producer, cost_recorded(org, "6"))
    await wait_for_usage(client, budget_id, admin, D(6))
    assert thresholds(await crossings.read(actual_of(budget_id), count=1)) == [D(50)]

    path = f"{BUDGETS}/{budget_id}"
    lowered = await client.put(path, json={"limit_amount": "7"}, headers=admin)
    assert lowered.status_code == 200, lowered.text
    # 6 of 7 is 85.7 %: 80 fires now, through the outbox, without any new spend.
    fired = await crossings.read(actual_of(budget_id), count=1, settle=1.0)
    assert thresholds(fired) == [D(80)]
    event = BudgetThresholdCrossed.model_validate_json(fired[0].value)
    assert (event.limit_amount, event.usage_amount, event.severity) == (D(7), D(6), "warning")

    raised = await client.put(path, json={"limit_amount": "100"}, headers=admin)
    assert raised.status_code == 200
    states = await current_thresholds(client, path, admin)
    assert states[("percent", "50", "actual")] == "armed"  # 6 of 100 reaches none: re-armed
    assert states[("percent", "80", "actual")] == "armed"
    # Back down: the re-armed thresholds fire again (once more each), new alerts.
    await client.put(path, json={"limit_amount": "7"}, headers=admin)
    assert thresholds(await crossings.read(actual_of(budget_id), count=2, settle=1.0)) == [
        D(50),
        D(80),
    ]
    alerts = await db.fetchval(
        "SELECT count(*) FROM cost_alerts WHERE budget_id = $1 AND kind = 'actual'", budget_id
    )
    assert alerts == 4


async def current_thresholds(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> dict[tuple[str, str, str], str]:
    current = (await get_data(client, path, headers))["current_period"]
    return {(t["basis"], t["value"], t["kind"]): t["state"] for t in current["thresholds"]}


async def test_absolute_thresholds_fire_at_their_dollar_amount(
    client: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    crossings: TopicTail,
    admin: dict[str, str],
    org: str,
) -> None:
    budget_id = await create(
        client,
        admin,
        type="project",
        entity_id="proj-1",
        limit_amount="40",
        thresholds=[],
        threshold_amounts=["2.5", "30"],
    )
    made = await get_data(client, f"{BUDGETS}/{budget_id}", admin)
    assert (made["thresholds"], made["threshold_amounts"]) == ([], ["2.5", "30"])
    await publish(producer, cost_recorded(org, "3"))
    [record] = await crossings.read(actual_of(budget_id), count=1, settle=1.0)
    event = BudgetThresholdCrossed.model_validate_json(record.value)
    assert (event.threshold_basis, event.threshold_amount, event.threshold) == (
        "amount",
        D("2.5"),
        D("6.25"),
    )
    assert event.severity == "info"


async def test_negative_adjustments_lower_usage_exactly(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, admin: dict[str, str], org: str
) -> None:
    budget_id = await create(client, admin, type="organization", limit_amount="10")
    await publish(
        producer,
        cost_recorded(org, "0.3"),
        cost_recorded(org, "-0.100000000000000001"),
        cost_recorded(org, "0.000000000000000002"),
    )
    await wait_for_usage(client, budget_id, admin, D("0.200000000000000001"))


async def test_the_budget_reports_its_forecast_and_threshold_state(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, admin: dict[str, str], org: str
) -> None:
    budget_id = await create(client, admin, type="organization", limit_amount="1", period="yearly")
    await publish(producer, cost_recorded(org, "0.55"))
    await wait_for_usage(client, budget_id, admin, D("0.55"))
    current = (await get_data(client, f"{BUDGETS}/{budget_id}", admin))["current_period"]
    assert (current["usage_percent"], current["remaining"]) == ("55", "0.45")
    states = {(t["value"], t["kind"]): t for t in current["thresholds"]}
    assert states[("50", "actual")]["state"] == "fired" and states[("50", "actual")]["alert_id"]
    assert states[("80", "actual")]["state"] == "armed"
    assert states[("100", "actual")]["amount"] == "1"
    # Whether a yearly forecast is trusted depends on today's date; its shape does not.
    forecast = current["forecast"]
    now = datetime.now(UTC)
    year_fraction = (now - datetime(now.year, 1, 1, tzinfo=UTC)) / timedelta(days=365)
    if year_fraction >= 0.1:
        assert forecast["status"] == "ok"
        assert D(forecast["projected_amount"]) >= D("0.55")
        assert forecast["exceeds_limit"] is (D(forecast["projected_amount"]) > 1)
    else:
        assert forecast == {
            "status": "insufficient_data",
            "projected_amount": None,
            "projected_percent": None,
            "burn_rate_per_hour": None,
            "exceeds_limit": None,
            "runs_out_at": None,
        }


async def test_a_period_closes_once_when_the_next_one_begins_or_by_the_sweep(
    client: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    closings: TopicTail,
    admin: dict[str, str],
    org: str,
) -> None:
    busy = await create(
        client, admin, type="project", entity_id="proj-1", limit_amount="10", period="daily"
    )
    quiet = await create(
        client, admin, type="user", entity_id="user-q", limit_amount="10", period="daily"
    )
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await publish(
        producer,
        cost_recorded(org, "2", occurred_at=yesterday),
        cost_recorded(org, "3", occurred_at=yesterday),
        cost_recorded(org, "1"),
        # The quiet budget spends yesterday only: only the sweep can close its period.
        cost_recorded(org, "4", project="proj-q", user="user-q", occurred_at=yesterday),
    )

    def of_org(record: Any) -> bool:
        return bool(json.loads(record.value)["org_id"] == org)

    records = await closings.read(of_org, count=2, within=15, settle=2.0)
    closed = {str(c.budget_id): c for c in map(_closed, records)}
    assert len(records) == 2 and set(closed) == {busy, quiet}  # once each
    assert (closed[busy].usage_amount, closed[busy].events, closed[busy].usage_percent) == (
        D(5),
        2,
        D(50),
    )
    assert closed[quiet].usage_amount == D(4) and closed[quiet].period_end <= datetime.now(UTC)
    assert {r.key for r in records} == {org.encode()}


def least_elapsed_period(now: datetime) -> tuple[str, float]:
    """The period kind with the smallest elapsed fraction of at least 0.1 right now."""
    fractions = {}
    for kind in ("daily", "weekly", "monthly", "quarterly", "yearly"):
        bounds = period_bounds(kind, now, "UTC")  # type: ignore[arg-type]
        fractions[kind] = (now - bounds.start) / (bounds.end - bounds.start)
    return min(((k, f) for k, f in fractions.items() if f >= 0.1), key=lambda kf: kf[1])


async def test_a_projection_over_the_limit_fires_one_forecast_with_its_run_out_time(
    client: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    crossings: TopicTail,
    forecasts: TopicTail,
    admin: dict[str, str],
    org: str,
) -> None:
    period, fraction = least_elapsed_period(datetime.now(UTC))
    budget_id = await create(
        client, admin, type="organization", limit_amount="100", period=period, thresholds=[]
    )
    # Spent so far: halfway between the straight line and the limit, so the rate overshoots.
    spent = D(100) * (D(1) + D(str(round(fraction, 6)))) / 2
    await publish(producer, cost_recorded(org, format(spent.quantize(D("0.01")), "f")))
    await publish(producer, cost_recorded(org, "0.01"))  # a second batch: fires no second one

    def mine(record: Any) -> bool:
        return bool(json.loads(record.value)["budget_id"] == budget_id)

    [crossed] = await crossings.read(mine, count=1, settle=2.0)
    [exceeded] = await forecasts.read(mine, count=1, settle=1.0)
    alert = BudgetThresholdCrossed.model_validate_json(crossed.value)
    forecast = BudgetForecastExceeded.model_validate_json(exceeded.value)
    assert (alert.kind, alert.threshold, forecast.alert_id) == ("forecast", D(100), alert.alert_id)
    assert (
        forecast.projected_amount > D(100) and alert.projected_amount == forecast.projected_amount
    )
    assert forecast.runs_out_at is not None
    assert datetime.now(UTC) < forecast.runs_out_at < forecast.period_end


def _closed(record: Any) -> BudgetPeriodClosed:
    return BudgetPeriodClosed.model_validate_json(record.value)
