"""The shared aiokafka consumer loop (rex_shared.consuming) on real Kafka: good events reach
the handler, poison goes to the DLQ with its reason, offsets are committed only after the
handler returned, a failed batch is read again (and not committed), and stop finishes the batch
in flight."""

import asyncio
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rex_shared import cloudevents, topics
from rex_shared.consumer import BatchConsumer, Received
from rex_shared.consuming import ConsumerLoop
from rex_shared.events import LlmCallCompleted, Usage
from rex_shared.kafka import ensure_topics
from rex_testkit.infra import Infra
from rex_testkit.waiting import eventually


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


def _event() -> LlmCallCompleted:
    now = datetime.now(UTC)
    return LlmCallCompleted(
        call_id=uuid4(), org_id="o", project_id="p", user_id="u", provider="openai",
        model="gpt-4o", requested_model="gpt-4o", api="chat.completions", started_at=now,
        completed_at=now, latency_ms=3, status="succeeded", usage=Usage(input_tokens=5),
    )  # fmt: skip


async def _committed(bootstrap: str, group: str, topic: str) -> int:
    """Sum of the group's committed offsets over the topic's partitions (0 when none)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or {0}]
        return sum([(await consumer.committed(tp)) or 0 for tp in tps])
    finally:
        await consumer.stop()


async def _dead_letters(bootstrap: str, topic: str, n: int) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    found: list[Any] = []
    try:
        deadline = time.monotonic() + 30
        while len(found) < n and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(records)
    finally:
        await consumer.stop()
    return found


async def test_batches_commit_after_the_handler_and_failures_are_read_again(
    infra: Infra,
) -> None:
    bootstrap, tag = infra.kafka_bootstrap, secrets.token_hex(4)
    topic, group = f"test.ledger.{tag}.calls", f"test-ledger-{tag}"
    await ensure_topics(bootstrap, [topic], partitions=1)
    handled: list[Received[LlmCallCompleted]] = []
    fail_next, release, entered = [True], asyncio.Event(), [0]

    async def handle(batch: list[Received[LlmCallCompleted]]) -> None:
        entered[0] += 1
        if fail_next[0]:  # the first attempt: the database is away
            fail_next[0] = False
            raise asyncpg.PostgresConnectionError("database away")
        await release.wait()  # hold the batch in flight until the test looks
        handled.extend(batch)

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    batches = BatchConsumer(name="cost-ledger", model=LlmCallCompleted, handle=handle,
                            producer=producer)  # fmt: skip
    calls = ConsumerLoop({topic: batches}, bootstrap=bootstrap, group_id=group,
                         client_id="test", max_records=100,
                         max_partition_fetch_bytes=1024 * 1024, session_timeout_ms=10_000,
                         retry_pause_s=0.1)  # fmt: skip
    try:
        good = cloudevents.build(_event(), source="test", event_id="evt-1")
        await producer.send_and_wait(topic, good.data, headers=good.headers())
        await producer.send_and_wait(topic, b"{not json", key=b"bad-json")
        await producer.send_and_wait(topic, b'{"call_id": "x"}', key=b"bad-evt")
        await calls.start()
        # The failed attempt commits nothing; the batch is read again and held in flight.
        await eventually(lambda: _true(not fail_next[0]), interval=0.05)
        await asyncio.sleep(0.5)
        assert await _committed(bootstrap, group, topic) == 0
        assert handled == []
        release.set()
        await eventually(lambda: _true(len(handled) >= 1), interval=0.05)
        await eventually(lambda: _committed_is(bootstrap, group, topic, 3), interval=0.05)
        assert [(r.event_id, r.event.model) for r in handled] == [("evt-1", "gpt-4o")]
        dead = await _dead_letters(bootstrap, topics.dlq(topic), 2)
        reasons = {r.key: dict(r.headers)["dlq_reason"].decode() for r in dead}
        assert "not JSON" in reasons[b"bad-json"]
        assert "invalid LlmCallCompleted" in reasons[b"bad-evt"]
        # stop() lets a batch in flight finish and commit before leaving the group.
        release.clear()
        late = cloudevents.build(_event(), source="test", event_id="evt-2")
        await producer.send_and_wait(topic, late.data, headers=late.headers())
        # evt-2's batch is in flight
        await eventually(lambda: _true(entered[0] == 3), interval=0.05)
        stopping = asyncio.create_task(calls.stop())
        await asyncio.sleep(0.3)
        release.set()
        await stopping
        assert [r.event_id for r in handled] == ["evt-1", "evt-2"]
        assert await _committed(bootstrap, group, topic) == 4
    finally:
        release.set()
        await calls.stop()
        await producer.stop()
        await delete_topics(bootstrap, [topic, topics.dlq(topic)])


async def _true(value: bool) -> bool:
    return value


async def _committed_is(bootstrap: str, group: str, topic: str, offset: int) -> bool:
    return await _committed(bootstrap, group, topic) == offset


async def test_a_later_batch_done_first_commits_nothing_until_the_earlier_one_is(
    infra: Infra,
) -> None:
    bootstrap, tag = infra.kafka_bootstrap, secrets.token_hex(4)
    topic, group = f"test.ledger.{tag}.calls", f"test-ledger-{tag}"
    await ensure_topics(bootstrap, [topic], partitions=1)
    done: list[str] = []
    release, attempts = asyncio.Event(), {"evt-1": 0}

    async def handle(batch: list[Received[LlmCallCompleted]]) -> None:
        for r in batch:
            if r.event_id == "evt-1":  # the first batch waits, then fails once
                attempts["evt-1"] += 1
                await release.wait()
                if attempts["evt-1"] == 1:
                    raise asyncpg.PostgresConnectionError("database away")
            done.append(r.event_id)

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    batches = BatchConsumer(name="cost-ledger", model=LlmCallCompleted, handle=handle,
                            producer=producer)  # fmt: skip
    calls = ConsumerLoop({topic: batches}, bootstrap=bootstrap, group_id=group,
                         client_id="test", max_records=1, depth=2,
                         max_partition_fetch_bytes=1024 * 1024, session_timeout_ms=10_000,
                         retry_pause_s=0.1)  # fmt: skip
    try:
        for n in (1, 2):
            event = cloudevents.build(_event(), source="test", event_id=f"evt-{n}")
            await producer.send_and_wait(topic, event.data, headers=event.headers())
        await calls.start()
        # the later batch is recorded
        await eventually(lambda: _true(done == ["evt-2"]), interval=0.05)
        await asyncio.sleep(0.5)
        assert await _committed(bootstrap, group, topic) == 0  # but not committed
        release.set()  # the first fails: both are read again, then both committed
        await eventually(lambda: _committed_is(bootstrap, group, topic, 2), interval=0.05)
        assert attempts["evt-1"] == 2
        assert done == ["evt-2", "evt-1", "evt-2"]  # evt-2 again: the ledger dedupes it
    finally:
        release.set()
        await calls.stop()
        await producer.stop()
        await delete_topics(bootstrap, [topic, topics.dlq(topic)])
