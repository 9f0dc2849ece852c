"""`send_events_batched` puts the same records on the same partitions as `send_events`."""

import secrets
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.kafka import ensure_topics, make_producer, send_events, send_events_batched
from rex_testkit.infra import Infra


def _events(topic: str, n: int) -> list[OutgoingEvent]:
    at = datetime.now(UTC)
    return [
        OutgoingEvent(id=f"e{i}", topic=topic, type="rex.test.v1", source="test", time=at,
                      key=f"org-{i % 7}", data=b'{"i": %d}' % i)
        for i in range(n)
    ]  # fmt: skip


async def _read(bootstrap: str, topic: str) -> dict[str, tuple[int, bytes, bytes | None]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        found: dict[str, tuple[int, bytes, bytes | None]] = {}
        for _ in range(20):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    ce_id = dict(r.headers)["ce_id"].decode()
                    found[ce_id] = (r.partition, r.value, r.key)
            if len(found) >= 300:
                break
        return found
    finally:
        await consumer.stop()


async def test_batched_sends_match_one_by_one_sends(infra: Infra) -> None:
    tag = secrets.token_hex(4)
    one, many = f"test.send.{tag}.one", f"test.send.{tag}.many"
    await ensure_topics(infra.kafka_bootstrap, [one, many], partitions=3)
    producer = make_producer(infra.kafka_bootstrap, client_id="test-send-batched")
    await producer.start()
    try:
        await send_events(producer, _events(one, 300))
        await send_events_batched(producer, _events(many, 300))
    finally:
        await producer.stop()
    singly, batched = (
        await _read(infra.kafka_bootstrap, one),
        await _read(infra.kafka_bootstrap, many),
    )
    assert len(batched) == 300 and batched == singly
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([one, many, f"{one}.dlq", f"{many}.dlq"])
    finally:
        await admin.close()
