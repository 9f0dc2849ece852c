"""A record that is not a valid event goes to `budget.threshold.crossed.dlq` with the reason."""

import time
from typing import Any
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rex_shared import topics
from rex_shared.testing.infra import Infra

DLQ = topics.dlq(topics.BUDGET_THRESHOLD_CROSSED)


async def _dead_letter(consumer: AIOKafkaConsumer, event_id: str, within: float) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=500)
        for record in (r for records in batches.values() for r in records):
            if dict(record.headers).get("ce_id") == event_id.encode():
                return record
    raise AssertionError(f"no dead letter for {event_id}")


async def test_poison_is_dead_lettered_with_its_reason(
    infra: Infra, run_notifier: Any, smtp: Any, producer: AIOKafkaProducer
) -> None:
    watcher = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap, enable_auto_commit=False)
    await watcher.start()
    try:
        async with run_notifier(smtp_port=smtp.port):
            parts = [TopicPartition(DLQ, p) for p in await producer.partitions_for(DLQ)]
            watcher.assign(parts)
            await watcher.seek_to_end(*parts)
            for part in parts:
                await watcher.position(part)  # resolve "end" now, before the poison is sent
            event_id = str(uuid4())
            await producer.send_and_wait(
                topics.BUDGET_THRESHOLD_CROSSED, value=b"{not json",
                headers=[("ce_id", event_id.encode())],
            )  # fmt: skip
            record = await _dead_letter(watcher, event_id, within=20.0)
    finally:
        await watcher.stop()
    headers = dict(record.headers)
    assert record.value == b"{not json"
    assert b"not JSON" in headers["dlq_reason"]
    assert headers["dlq_consumer"] == b"notifier"
