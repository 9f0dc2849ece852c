"""Helpers for the integration tests: publishing costs, reading the API, waiting for usage."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4, uuid5

import httpx
from aiokafka import AIOKafkaProducer
from rex_shared import cloudevents
from rex_shared.events import CostComponents, LlmCostRecorded, Usage
from rex_shared.kafka import send_events
from rex_testkit.waiting import eventually

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


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> str:
    """Creates a monthly soft-limit budget (unless `body` says otherwise); returns its id."""
    body = {"name": "b", "period": "monthly", "is_hard_limit": False, **body}
    reply = await client.post("/api/v1/budgets", json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["data"]["id"])


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
