"""From `llm.cost.recorded` on Kafka to usage, alerts and `budget.threshold.crossed`."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from budget_it import cost_recorded, create, get_data, publish, usage_of, wait_for_usage
from rex_testkit.kafka import TopicTail, header

BUDGETS = "/api/v1/budgets"


def of_org(org: str, kind: str = "actual") -> Any:
    # Forecasts depend on the day of the month the test runs; these tests pin actual ones.
    return lambda r: json.loads(r.value)["org_id"] == org and json.loads(r.value)["kind"] == kind


async def test_usage_is_the_exact_sum_and_each_threshold_fires_exactly_once(
    client: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    crossings: TopicTail,
    org: str,
    admin: dict[str, str],
) -> None:
    budget_id = await create(
        client,
        admin,
        type="organization",
        entity_id=org,
        limit_amount="1.00",
        thresholds=[50, 100],
        is_hard_limit=True,
    )
    amounts = ["0.3", "0.25", "0.333333333333333333", "0.116666666666666667", "0.000001"]
    total = D(0)
    for amount in amounts:
        # One at a time: events that share a polled batch are summed before thresholds are
        # checked, and this test pins down the usage each crossing reports.
        await publish(producer, cost_recorded(org, amount))
        total += D(amount)
        await wait_for_usage(client, budget_id, admin, total)

    records = await crossings.read(of_org(org), count=2, settle=2.0)
    events = [json.loads(r.value) for r in records]
    assert sorted(D(e["threshold"]) for e in events) == [D(50), D(100)]  # once each, no more
    fifty = next(e for e in events if D(e["threshold"]) == 50)
    assert (fifty["severity"], fifty["usage_amount"], fifty["usage_percent"]) == (
        "info",
        "0.55",
        "55",
    )
    hundred = next(e for e in events if D(e["threshold"]) == 100)
    assert (hundred["severity"], hundred["budget_id"], hundred["budget_type"]) == (
        "critical",
        budget_id,
        "organization",
    )
    assert (hundred["limit_amount"], hundred["is_hard_limit"], hundred["kind"]) == (
        "1",
        True,
        "actual",
    )
    for record, data in zip(records, events, strict=True):
        assert header(record, "ce_id") == data["alert_id"]
        assert header(record, "ce_type") == "rex.budget.threshold.crossed.v1"
        assert header(record, "ce_source") == "rex/budget"
        assert record.key == org.encode()

    alerts = await get_data(client, f"{BUDGETS}/alerts", admin, acknowledged="false", kind="actual")
    assert sorted(a["threshold"] for a in alerts["items"]) == ["100", "50"]
    assert {a["id"] for a in alerts["items"]} == {e["alert_id"] for e in events}


async def test_alerts_can_be_acknowledged_and_drop_out_of_the_open_list(
    client: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    org: str,
    admin: dict[str, str],
    auth_headers: Any,
) -> None:
    budget_id = await create(client, admin, type="user", entity_id="user-1", limit_amount="2")
    await publish(producer, cost_recorded(org, "1.7", user="user-1"))  # crosses 50 and 80
    await wait_for_usage(client, budget_id, admin, D("1.7"))
    open_alerts = await get_data(
        client, f"{BUDGETS}/alerts", admin, acknowledged="false", kind="actual"
    )
    assert [a["severity"] for a in open_alerts["items"]] in (
        ["warning", "info"],
        ["info", "warning"],
    )
    alert_id = open_alerts["items"][0]["id"]
    someone_else = auth_headers(org, "user-2", ("member",))
    reply = await client.post(f"{BUDGETS}/alerts/{alert_id}/acknowledge", headers=someone_else)
    assert reply.status_code == 404  # a member sees and acknowledges only their own
    assert (await get_data(client, f"{BUDGETS}/alerts", someone_else))["items"] == []
    member = auth_headers(org, "user-1", ("member",))
    reply = await client.post(f"{BUDGETS}/alerts/{alert_id}/acknowledge", headers=member)
    assert reply.status_code == 200 and reply.json()["data"]["acknowledged_at"]
    still_open = await get_data(
        client, f"{BUDGETS}/alerts", admin, acknowledged="false", kind="actual"
    )
    assert [a["id"] for a in still_open["items"]] == [open_alerts["items"][1]["id"]]
    done = await get_data(client, f"{BUDGETS}/alerts", admin, acknowledged="true", kind="actual")
    assert [a["id"] for a in done["items"]] == [alert_id]
    stranger = auth_headers("org-elsewhere", "eve", ("admin",))
    reply = await client.post(f"{BUDGETS}/alerts/{alert_id}/acknowledge", headers=stranger)
    assert reply.status_code == 404


async def test_the_same_event_published_twice_changes_nothing(
    client: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    crossings: TopicTail,
    org: str,
    admin: dict[str, str],
) -> None:
    budget_id = await create(client, admin, type="organization", limit_amount="1")
    first = cost_recorded(org, "0.6")
    await publish(producer, first)
    await wait_for_usage(client, budget_id, admin, D("0.6"))
    await publish(producer, first)
    # Same key, same partition: once the sentinel is counted, the duplicate was seen.
    await publish(producer, cost_recorded(org, "0.01"))
    await wait_for_usage(client, budget_id, admin, D("0.61"))
    assert len(await crossings.read(of_org(org), count=2, within=3, settle=1.0)) == 1
    alerts = await get_data(client, f"{BUDGETS}/alerts", admin, kind="actual")
    assert [a["threshold"] for a in alerts["items"]] == ["50"]
    assert await usage_of(client, budget_id, admin) == D("0.61")


async def test_a_call_counts_against_its_org_project_and_user_budgets_at_once(
    client: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    org: str,
    admin: dict[str, str],
) -> None:
    ids = {
        "org": await create(client, admin, type="organization", limit_amount="100"),
        "proj": await create(client, admin, type="project", entity_id="proj-1", limit_amount="100"),
        "user": await create(client, admin, type="user", entity_id="user-1", limit_amount="100"),
        "other": await create(
            client, admin, type="project", entity_id="proj-2", limit_amount="100"
        ),
    }
    await publish(
        producer,
        cost_recorded(org, "0.007250"),
        cost_recorded(org, "0.5", project="proj-2", user="user-2"),
    )
    await wait_for_usage(client, ids["org"], admin, D("0.50725"))
    assert await usage_of(client, ids["proj"], admin) == D("0.00725")
    assert await usage_of(client, ids["user"], admin) == D("0.00725")
    assert await usage_of(client, ids["other"], admin) == D("0.5")


async def test_periods_are_data_and_unpriced_calls_count_nothing(
    client: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    org: str,
    admin: dict[str, str],
) -> None:
    budget_id = await create(
        client,
        admin,
        type="organization",
        limit_amount="10",
        period="daily",
        timezone="Europe/Berlin",
    )
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await publish(
        producer,
        cost_recorded(org, "2", occurred_at=yesterday),
        cost_recorded(org, "0", status="unpriced"),
        cost_recorded(org, "3"),
    )
    await wait_for_usage(client, budget_id, admin, D("3"))
    budget = await get_data(client, f"{BUDGETS}/{budget_id}", admin)
    current = budget["current_period"]
    assert (current["usage_percent"], current["remaining"], current["events"]) == ("30", "7", 1)
    periods = await get_data(client, f"{BUDGETS}/{budget_id}/periods", admin)
    assert [(p["usage_amount"], p["events"]) for p in periods["items"]] == [("3", 1), ("2", 1)]
    assert periods["items"][1]["period_end"] == periods["items"][0]["period_start"]
