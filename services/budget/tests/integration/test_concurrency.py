"""Two service instances counting the same budgets at once: exact sums, one firing each."""

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal as D
from itertools import cycle, islice

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from budget.adapters.pg import create_pool
from budget.bootstrap import cost_recorded_consumer
from budget.config import SCHEMA, Settings
from budget_it import cost_recorded
from rex_shared import cloudevents, topics
from rex_shared.consumer import BatchConsumer
from rex_shared.events import LlmCostRecorded

AMOUNTS = ["0.05", "0.033333333333333333", "0.1", "0.000000000000000001", "0.0725", "0.019"]


def record(event: cloudevents.OutgoingEvent, offset: int) -> ConsumerRecord:
    return ConsumerRecord(
        topic=topics.LLM_COST_RECORDED,
        partition=offset % 3,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=event.data,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(event.data),
        headers=event.headers(),
    )


@pytest.fixture
async def instances(
    budget_dsn: str, settings: Settings, producer: AIOKafkaProducer
) -> AsyncIterator[list[BatchConsumer[LlmCostRecorded]]]:
    """Two consumers, each with its own pool, as two budget processes would have."""
    pools = [await create_pool(budget_dsn, schema=SCHEMA, max_size=4) for _ in range(2)]
    yield [
        cost_recorded_consumer(settings, pool, producer, name=f"budget-{i}")
        for i, pool in enumerate(pools)
    ]
    for pool in pools:
        await pool.close()


async def test_two_instances_sum_exactly_and_fire_each_threshold_once(
    client: httpx.AsyncClient,
    db: asyncpg.Pool,
    org: str,
    admin: dict[str, str],
    instances: list[BatchConsumer[LlmCostRecorded]],
) -> None:
    budget_ids = []
    # Limits chosen so that every budget ends above 100 % (user-2 spends the least).
    for type_, entity, limit in [
        ("organization", org, "5"),
        ("project", "proj-1", "5"),
        ("user", "user-1", "5"),
        ("user", "user-2", "2"),
    ]:
        body = {
            "name": type_,
            "type": type_,
            "entity_id": entity,
            "limit_amount": limit,
            "period": "monthly",
            "is_hard_limit": True,
        }
        reply = await client.post("/api/v1/budgets", json=body, headers=admin)
        budget_ids.append(reply.json()["data"]["id"])
    events = [
        cost_recorded(org, amount, user=user)
        for amount, user in islice(zip(cycle(AMOUNTS), cycle(["user-1", "user-2"])), 240)
    ]
    records = [record(e, i) for i, e in enumerate(events)]
    # Each instance gets half, and every tenth event reaches both (a rebalance redelivery).
    shares = [records[0::2] + records[::10], records[1::2] + records[5::10]]

    async def run(consumer: BatchConsumer[LlmCostRecorded], mine: list[ConsumerRecord]) -> None:
        for start in range(0, len(mine), 7):
            await consumer.process(mine[start : start + 7])

    await asyncio.gather(*(run(c, share) for c, share in zip(instances, shares, strict=True)))

    total = sum((D(a) for a in islice(cycle(AMOUNTS), 240)), D(0))
    by_user = {
        u: sum(
            (
                D(a)
                for a, uu in islice(zip(cycle(AMOUNTS), cycle(["user-1", "user-2"])), 240)
                if uu == u
            ),
            D(0),
        )
        for u in ("user-1", "user-2")
    }
    usage = {
        str(r["budget_id"]): r["usage_amount"]
        for r in await db.fetch(
            "SELECT budget_id, usage_amount FROM budget_periods WHERE budget_id = ANY($1::uuid[])",
            budget_ids,
        )
    }
    assert [usage[b] for b in budget_ids] == [total, total, by_user["user-1"], by_user["user-2"]]
    firings = await db.fetch(
        "SELECT budget_id, kind, threshold, count(*) AS n FROM threshold_firings"
        " WHERE budget_id = ANY($1::uuid[]) GROUP BY 1, 2, 3",
        budget_ids,
    )
    assert all(f["n"] == 1 for f in firings)
    actual = [f for f in firings if f["kind"] == "actual"]
    assert len(actual) == 16  # 4 budgets x 4 thresholds; forecasts may come on top, once each
    alerts = await db.fetch("SELECT id, kind FROM cost_alerts WHERE org_id = $1", org)
    assert len([a for a in alerts if a["kind"] == "actual"]) == 16
    assert len(alerts) == len(firings)
    outbox = await db.fetchval(
        "SELECT count(*) FROM outbox o JOIN cost_alerts a ON o.event_id = a.id::text"
        " WHERE a.org_id = $1",
        org,
    )
    assert outbox == len(alerts)
