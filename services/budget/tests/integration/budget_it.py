"""Helpers for the integration tests: publishing costs, reading topics, waiting."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4, uuid5

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from rex_shared import cloudevents
from rex_shared.events import CostComponents, LlmCostRecorded, Usage
from rex_shared.kafka import commit_groups_at_end, ensure_topics, send_events

T = TypeVar("T")
COST_NS = UUID("6f1c3d9e-2f7a-4c1e-9b7a-3c2d1e0f9a8b")


def cost_recorded(
    org: str,
    total: str | Decimal,
    *,
    project: str = "proj-1",
    user: str = "user-1",
    status: str = "priced",
    occurred_at: datetime | None = None,
    evaluation_id: str | UUID | None = None,
) -> cloudevents.OutgoingEvent:
    """An `llm.cost.recorded` CloudEvent as the ledger would publish it."""
    call_id, at = uuid4(), occurred_at or datetime.now(UTC)
    data = LlmCostRecorded(
        call_id=call_id,
        evaluation_id=UUID(str(evaluation_id)) if evaluation_id else None,
        org_id=org,
        project_id=project,
        user_id=user,
        provider="openai",
        model="gpt-4o-mini",
        status=status,  # type: ignore[arg-type]
        usage=Usage(input_tokens=1000, output_tokens=100),
        cost=CostComponents(total=Decimal(total)),
        occurred_at=at,
        recorded_at=at,
    )
    # Keyed by org so one test's events keep their order on one partition.
    return cloudevents.build(
        data, source="rex/cost-ledger", event_id=str(uuid5(COST_NS, f"cost:{call_id}")), key=org
    )


async def publish(producer: AIOKafkaProducer, *events: cloudevents.OutgoingEvent) -> None:
    await send_events(producer, events)


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = 30.0, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy, or fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.1)


async def get_data(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> Any:
    reply = await client.get(path, headers=headers, params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


async def usage_of(client: httpx.AsyncClient, budget_id: str, headers: dict[str, str]) -> Decimal:
    data = await get_data(client, f"/api/v1/budgets/{budget_id}", headers)
    return Decimal(data["current_period"]["usage_amount"])


async def wait_for_usage(
    client: httpx.AsyncClient,
    budget_id: str,
    headers: dict[str, str],
    expected: Decimal,
    within: float = 30.0,
) -> None:
    async def reached() -> bool:
        return await usage_of(client, budget_id, headers) == expected

    await eventually(reached, within=within, what=f"usage {expected} on {budget_id}")


@dataclass
class TopicTail:
    """Reads a topic from where it ended when the tail was opened."""

    consumer: AIOKafkaConsumer

    @classmethod
    async def open(cls, producer: AIOKafkaProducer, bootstrap: str, topic: str) -> "TopicTail":
        # The producer waits for the topic's metadata; a fresh consumer would not know it yet.
        partitions = [
            TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))
        ]
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        consumer.assign(partitions)
        for tp, end in (await consumer.end_offsets(partitions)).items():
            consumer.seek(tp, end)
        return cls(consumer)

    async def read(
        self,
        match: Callable[[ConsumerRecord], bool],
        *,
        count: int,
        within: float = 30.0,
        settle: float = 0.0,
    ) -> list[ConsumerRecord]:
        """Records that `match`; waits for `count`, then `settle` more seconds for extras."""
        found: list[ConsumerRecord] = []
        deadline = time.monotonic() + within
        while len(found) < count and time.monotonic() < deadline:
            found += await self._poll(match)
        settle_until = time.monotonic() + settle
        while time.monotonic() < settle_until:
            found += await self._poll(match)
        return found

    async def _poll(self, match: Callable[[ConsumerRecord], bool]) -> list[ConsumerRecord]:
        batches = await self.consumer.getmany(timeout_ms=200)
        return [r for records in batches.values() for r in records if match(r)]

    async def close(self) -> None:
        await self.consumer.stop()


def header(record: ConsumerRecord, name: str) -> str | None:
    return next((v.decode() for k, v in record.headers or () if k == name), None)


async def group_at_end(bootstrap: str, topic: str) -> str:
    """A fresh consumer group whose committed offsets are the topic's current end, so it
    reads only what is published from now on (not every earlier run's events)."""
    group = f"budget-it-{uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic])
    await commit_groups_at_end(bootstrap, [group], [topic])
    return group
