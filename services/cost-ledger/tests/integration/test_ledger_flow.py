"""End to end inside one process: real Kafka in, real PostgreSQL, the HTTP API out."""

import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4, uuid5

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord, RecordMetadata
from rex_shared import cloudevents, topics
from rex_shared.events import REX_NAMESPACE, LlmCallCompleted, Usage
from rex_testkit.infra import Infra
from rex_testkit.waiting import eventually

T = TypeVar("T")
AT = datetime(2025, 10, 1, 12, tzinfo=UTC)
Headers = Callable[..., dict[str, str]]
JSON = {"content-type": "application/json"}
TopicEnd = Callable[[str], Awaitable[dict[TopicPartition, int]]]


def mtok(*pairs: tuple[int, str]) -> Decimal:
    """Independent price: tokens x the provider's published $/MTok."""
    return sum((Decimal(n) * Decimal(r) for n, r in pairs), Decimal(0)) / 1_000_000


def call(org: str, evaluation: UUID, **overrides: Any) -> LlmCallCompleted:
    data: dict[str, Any] = {
        "call_id": uuid4(), "evaluation_id": evaluation, "metric": "faithfulness", "org_id": org,
        "project_id": "proj", "user_id": "user-1", "provider": "anthropic",
        "model": "claude-sonnet-4-5-20250929", "requested_model": "claude-sonnet-4-5",
        "api": "messages", "started_at": AT, "completed_at": AT, "latency_ms": 850,
        "status": "succeeded",
        "usage": Usage(input_tokens=12000, cache_read_tokens=8000, cache_write_tokens=3000,
                       cache_write_1h_tokens=1000, output_tokens=700),
        "raw_usage": {"input_tokens": 1000, "cache_read_input_tokens": 8000},
    }  # fmt: skip
    data.update(overrides)
    return LlmCallCompleted(**data)


SONNET = mtok((1000, "3"), (8000, "0.3"), (2000, "3.75"), (1000, "6"), (700, "15"))


async def publish(producer: AIOKafkaProducer, event: LlmCallCompleted) -> RecordMetadata:
    key = str(event.call_id)
    out = cloudevents.build(event, source="rex/evaluator", event_id=key, key=key)
    return await producer.send_and_wait(out.topic, value=out.data, key=key.encode(),
                                        headers=out.headers())  # fmt: skip


async def evaluation_costs(client: httpx.AsyncClient, auth: dict[str, str], evaluation: UUID,
                           calls: int) -> dict[str, Any] | None:  # fmt: skip
    reply = await client.get(f"/api/v1/costs/evaluations/{evaluation}", headers=auth)
    if reply.status_code != 200 or reply.json()["data"]["calls"] < calls:
        return None
    data: dict[str, Any] = reply.json()["data"]
    return data


async def read_from(bootstrap: str, start: dict[TopicPartition, int]) -> list[ConsumerRecord]:
    """Every record from `start` up to the current end of those partitions."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(start))
        end = await consumer.end_offsets(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        found: list[ConsumerRecord] = []
        while [tp for tp in start if await consumer.position(tp) < end[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            found += [r for records in batch.values() for r in records]
        return found
    finally:
        await consumer.stop()


async def test_calls_become_ledger_rows_and_evaluation_totals_equal_the_independent_price(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, db: asyncpg.Connection, org: str,
    auth_headers: Headers,
) -> None:  # fmt: skip
    evaluation, auth = uuid4(), auth_headers(org)
    gpt = call(
        org,
        evaluation,
        metric="relevancy",
        provider="openai",
        api="chat.completions",
        model="gpt-4o-2024-08-06",
        requested_model="gpt-4o",
        usage=Usage(input_tokens=5000, cache_read_tokens=3000, output_tokens=500),
    )
    failed = call(org, evaluation, status="failed", error="overloaded", usage=Usage())
    sonnet = call(org, evaluation)
    for event in (gpt, failed, sonnet):
        await publish(producer, event)

    got = await eventually(lambda: evaluation_costs(client, auth, evaluation, 3))

    gpt_cost = mtok((2000, "2.5"), (3000, "1.25"), (500, "10"))
    assert Decimal(got["total_cost"]) == SONNET + gpt_cost
    assert (got["calls"], got["failed_calls"], got["currency"]) == (3, 1, "USD")
    metrics = {m["metric"]: m for m in got["metrics"]}
    assert Decimal(metrics["relevancy"]["cost"]) == gpt_cost
    assert Decimal(metrics["faithfulness"]["cost"]) == SONNET
    row = await db.fetchrow("SELECT * FROM ledger_entries WHERE call_id = $1", sonnet.call_id)
    assert row is not None and row["total_cost"] == SONNET and row["status"] == "priced"
    assert row["price_id"] == "genai:anthropic:claude-sonnet-4-5:initial"
    assert json.loads(row["raw_usage"]) == sonnet.raw_usage
    other_org = await client.get(f"/api/v1/costs/evaluations/{evaluation}",
                                 headers=auth_headers("someone-else"))  # fmt: skip
    assert other_org.status_code == 404 and other_org.json()["error"]["code"] == "NOT_FOUND"


async def test_the_same_event_twice_is_one_row_and_one_cost_event(
    infra: Infra, client: httpx.AsyncClient, producer: AIOKafkaProducer,
    db: asyncpg.Connection, org: str, auth_headers: Headers, ledger_app: Any, topic_end: TopicEnd,
) -> None:  # fmt: skip
    evaluation, auth = uuid4(), auth_headers(org)
    event = call(org, evaluation)
    cost_start = await topic_end(ledger_app.state.deps.settings.cost_topic)
    await publish(producer, event)
    await eventually(lambda: evaluation_costs(client, auth, evaluation, 1))
    again = await publish(producer, event)
    group = ledger_app.state.deps.settings.consumer_group
    await eventually(lambda: _committed_past(infra.kafka_bootstrap, group, again))
    await eventually(lambda: _outbox_sent(db))

    got = await evaluation_costs(client, auth, evaluation, 1)
    assert got is not None and got["calls"] == 1 and Decimal(got["total_cost"]) == SONNET
    rows = await db.fetchval("SELECT count(*) FROM ledger_entries WHERE call_id = $1",
                             event.call_id)  # fmt: skip
    assert rows == 1
    cost_id = str(uuid5(REX_NAMESPACE, f"cost:{event.call_id}")).encode()
    records = await read_from(infra.kafka_bootstrap, cost_start)
    mine = [r for r in records if dict(r.headers).get("ce_id") == cost_id]
    assert len(mine) == 1
    assert Decimal(json.loads(mine[0].value)["cost"]["total"]) == SONNET
    assert mine[0].key == org.encode()


async def _committed_past(bootstrap: str, group: str, meta: RecordMetadata) -> bool | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    committed = offsets.get(TopicPartition(meta.topic, meta.partition))
    return True if committed is not None and committed.offset > meta.offset else None


async def _outbox_sent(db: asyncpg.Connection) -> bool | None:
    pending = await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    return True if pending == 0 else None


async def test_malformed_json_and_invalid_events_land_on_the_dlq_with_a_reason(
    infra: Infra, producer: AIOKafkaProducer, ledger_app: Any, org: str, topic_end: TopicEnd,
) -> None:  # fmt: skip
    dlq = topics.dlq(topics.LLM_CALL_COMPLETED)
    start = await topic_end(dlq)
    bad_json, bad_event = f"bad-json-{org}".encode(), f"bad-event-{org}".encode()
    await producer.send_and_wait(
        topics.LLM_CALL_COMPLETED,
        value=b'{"call_id": oops',
        key=bad_json,
        headers=[("content-type", b"application/json")],
    )
    invalid = call(org, uuid4()).model_dump(mode="json")
    invalid["usage"] = {"input_tokens": -5}
    await producer.send_and_wait(topics.LLM_CALL_COMPLETED, value=json.dumps(invalid).encode(),
                                 key=bad_event,
                                 headers=[("ce_id", secrets.token_hex(8).encode())])  # fmt: skip

    async def both_dead() -> dict[bytes, ConsumerRecord] | None:
        found = {r.key: r for r in await read_from(infra.kafka_bootstrap, start)}
        return found if {bad_json, bad_event} <= found.keys() else None

    dead = await eventually(both_dead)
    reasons = {k: dict(dead[k].headers)["dlq_reason"].decode() for k in (bad_json, bad_event)}
    assert "not JSON" in reasons[bad_json]
    assert "usage.input_tokens" in reasons[bad_event]


async def test_bad_input_is_a_4xx_with_an_error_code_never_a_500(
    client: httpx.AsyncClient, org: str, auth_headers: Headers,
) -> None:  # fmt: skip
    auth = auth_headers(org)
    usage = {"input_tokens": 10, "output_tokens": 5}
    est = "/api/v1/costs/estimate"
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("POST", est, {"content": b'{"provider": "openai",', "headers": {**auth, **JSON}}, 400,
         "MALFORMED_JSON"),
        ("POST", est, {"json": {"provider": "openai", "model": "gpt-4o",
                                "usage": {"input_tokens": -1}}}, 422, "VALIDATION_ERROR"),
        ("POST", est, {"json": {"provider": "openai", "model": "gpt-4o",
                                "usage": {"input_tokens": 1, "cache_read_tokens": 2}}},
         422, "VALIDATION_ERROR"),
        ("POST", est, {"json": {"provider": "openai", "model": "gpt-4o", "usage": "lots"}},
         422, "VALIDATION_ERROR"),
        ("POST", est, {"json": [1, 2]}, 422, "VALIDATION_ERROR"),
        ("POST", est, {"json": {"provider": "openai", "model": "nope-9", "usage": usage}},
         422, "UNKNOWN_MODEL"),
        ("GET", "/api/v1/costs/evaluations/not-a-uuid", {}, 422, "VALIDATION_ERROR"),
        ("GET", f"/api/v1/costs/evaluations/{uuid4()}", {}, 404, "NOT_FOUND"),
        ("GET", "/api/v1/costs/pricing?provider=openai&at=yesterday", {}, 422,
         "VALIDATION_ERROR"),
        ("GET", "/api/v1/costs/pricing?model=gpt-4o", {}, 422, "VALIDATION_ERROR"),
        ("GET", "/api/v1/costs/pricing?limit=0", {}, 422, "VALIDATION_ERROR"),
    ]  # fmt: skip
    for method, url, kwargs, status, code in cases:
        reply = await client.request(method, url, **{"headers": auth, **kwargs})
        assert (reply.status_code, reply.json()["error"]["code"]) == (status, code), url
    anonymous = await client.post(est, json={"provider": "openai", "model": "gpt-4o",
                                             "usage": usage})  # fmt: skip
    assert anonymous.status_code == 401


async def test_pricing_and_estimate_answer_from_the_catalog(
    client: httpx.AsyncClient, org: str, auth_headers: Headers,
) -> None:  # fmt: skip
    auth = auth_headers(org)
    reply = await client.get(
        "/api/v1/costs/pricing",
        headers=auth,
        params={"provider": "openai", "model": "gpt-4o-2024-08-06", "at": "2025-03-01T00:00:00Z"},
    )
    assert reply.status_code == 200
    rows = {r["id"]: r for r in reply.json()["data"]["items"]}
    assert rows["genai:openai:gpt-4o:initial"]["rates"]["input"] == "2.5"
    assert rows["override:openai:gpt-4o:initial:batch"]["rates"]["cache_read"] == "0.625"
    estimate = await client.post(
        "/api/v1/costs/estimate",
        headers=auth,
        json={
            "provider": "anthropic",
            "model": "claude-sonnet-4-5-20250929",
            "timestamp": AT.isoformat(),
            "usage": call(org, uuid4()).usage.model_dump(),
        },
    )
    body = estimate.json()["data"]
    assert Decimal(body["total_cost"]) == SONNET and body["status"] == "priced"
    assert body["price_id"] == "genai:anthropic:claude-sonnet-4-5:initial"


async def test_the_service_reports_ready(client: httpx.AsyncClient) -> None:
    reply = await client.get("/ready")
    assert reply.status_code == 200, reply.text
