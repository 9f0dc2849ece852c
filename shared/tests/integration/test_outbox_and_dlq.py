"""Outbox relay and dead-letter path against a real broker and database."""

import asyncio
import json
import secrets
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord
from rex_shared import cloudevents, topics
from rex_shared.consumer import BatchConsumer, Received
from rex_shared.events import LlmCallCompleted, Usage
from rex_shared.inbox import INBOX_DDL, claim
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.outbox import OUTBOX_DDL, OutboxRelay, enqueue
from rex_testkit.infra import Infra


def _event(org: str) -> LlmCallCompleted:
    now = datetime.now(UTC)
    return LlmCallCompleted(
        call_id=uuid4(),
        org_id=org,
        project_id="p",
        user_id="u",
        provider="openai",
        model="gpt-4o-2024-08-06",
        requested_model="gpt-4o",
        api="chat.completions",
        started_at=now,
        completed_at=now,
        latency_ms=1,
        status="succeeded",
        usage=Usage(input_tokens=10, output_tokens=2),
    )


async def _drain(
    bootstrap: str, topic: str, want: int, match: bytes, wait_s: float = 20.0
) -> list[object]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"t-{secrets.token_hex(4)}",
    )
    await consumer.start()
    found: list[object] = []
    try:
        deadline = asyncio.get_running_loop().time() + wait_s
        while len(found) < want and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            found += [r for recs in batch.values() for r in recs if match in (r.value or b"")]
        await asyncio.sleep(0.5)  # a little longer: catch a duplicate if there is one
        batch = await consumer.getmany(timeout_ms=500)
        found += [r for recs in batch.values() for r in recs if match in (r.value or b"")]
    finally:
        await consumer.stop()
    return found


async def test_the_relay_publishes_each_outbox_row_exactly_once(
    infra: Infra, scratch_schema: tuple[str, str]
) -> None:
    schema, dsn = scratch_schema
    org = f"org-{secrets.token_hex(4)}"
    await ensure_topics(infra.kafka_bootstrap, [topics.LLM_CALL_COMPLETED])
    pool = await asyncpg.create_pool(dsn, server_settings={"search_path": schema})
    assert pool is not None
    await pool.execute(OUTBOX_DDL)
    producer = make_producer(infra.kafka_bootstrap, client_id="test")
    await producer.start()
    relays = [OutboxRelay(pool, producer, schema=schema, batch_size=7) for _ in range(2)]
    try:
        events = [
            cloudevents.build(e, source="t", event_id=str(e.call_id))
            for e in (_event(org) for _ in range(25))
        ]
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, events, schema=schema)
            await enqueue(conn, events[:5], schema=schema)  # same ids again: kept once
        for relay in relays:
            await relay.start()
        got = await _drain(infra.kafka_bootstrap, topics.LLM_CALL_COMPLETED, 25, org.encode())
        ids = sorted(dict(r.headers)["ce_id"].decode() for r in got)  # type: ignore[attr-defined]
        assert ids == sorted(e.id for e in events)
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    finally:
        for relay in relays:
            await relay.stop()
        await producer.stop()
        await pool.close()


async def test_the_relay_keeps_rows_while_kafka_is_unreachable(
    infra: Infra, scratch_schema: tuple[str, str]
) -> None:
    schema, dsn = scratch_schema
    pool = await asyncpg.create_pool(dsn, server_settings={"search_path": schema})
    assert pool is not None
    await pool.execute(OUTBOX_DDL)
    # A producer pointed at a closed port stands in for a broker that is down.
    dead = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", request_timeout_ms=1000)
    relay = OutboxRelay(pool, dead, schema=schema)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, [cloudevents.build(_event("o"), source="t")], schema=schema)
        # The send never completes; the relay gives up and the transaction rolls back.
        with pytest.raises((TimeoutError, KafkaError)):
            await asyncio.wait_for(relay.relay_once(), timeout=3)
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1
    finally:
        await pool.close()


async def test_poison_goes_to_the_dlq_and_good_events_are_handled_once(
    infra: Infra, scratch_schema: tuple[str, str]
) -> None:
    schema, dsn = scratch_schema
    org = f"org-{secrets.token_hex(4)}"
    await ensure_topics(infra.kafka_bootstrap, [topics.LLM_CALL_COMPLETED])
    pool = await asyncpg.create_pool(dsn, server_settings={"search_path": schema})
    assert pool is not None
    await pool.execute(INBOX_DDL)
    handled: list[str] = []

    async def handle(batch: list[Received[LlmCallCompleted]]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            for r in batch:
                if await claim(conn, r.event_id, topics.LLM_CALL_COMPLETED):
                    handled.append(r.event_id)

    producer = make_producer(infra.kafka_bootstrap, client_id="test")
    await producer.start()
    try:
        good = cloudevents.build(_event(org), source="t")

        def rec(value: bytes, headers: list[tuple[str, bytes]], offset: int) -> ConsumerRecord:
            return ConsumerRecord(
                topics.LLM_CALL_COMPLETED,
                0,
                offset,
                0,
                0,
                None,
                value,
                None,
                len(value),
                0,
                headers,
            )

        poison = json.dumps({"org_id": org, "oops": True}).encode()
        consumer = BatchConsumer(
            name="test", model=LlmCallCompleted, handle=handle, producer=producer
        )
        batch = [
            rec(good.data, good.headers(), 1),
            rec(b"{not json " + org.encode(), [], 2),
            rec(poison, [], 3),
            rec(good.data, good.headers(), 4),
        ]
        await consumer.process(batch)
        assert handled == [good.id]
        dead = await _drain(
            infra.kafka_bootstrap, topics.dlq(topics.LLM_CALL_COMPLETED), 2, org.encode()
        )
        reasons = sorted(dict(r.headers)["dlq_reason"].decode() for r in dead)  # type: ignore[attr-defined]
        assert len(reasons) == 2
        assert any("not JSON" in x for x in reasons)
    finally:
        await producer.stop()
        await pool.close()
