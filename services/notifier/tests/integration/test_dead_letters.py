"""A record that is not a valid event goes to `budget.threshold.crossed.dlq` with the reason."""

from typing import Any
from uuid import uuid4

from aiokafka import AIOKafkaProducer
from rex_shared import topics
from rex_testkit.infra import Infra
from rex_testkit.kafka import TopicTail, header

DLQ = topics.dlq(topics.BUDGET_THRESHOLD_CROSSED)


async def test_poison_is_dead_lettered_with_its_reason(
    infra: Infra, run_notifier: Any, smtp: Any, producer: AIOKafkaProducer
) -> None:
    # Opened before the app starts: "the end" is where the DLQ stood before the poison.
    dead_letters = await TopicTail.open(infra.kafka_bootstrap, DLQ)
    async with dead_letters, run_notifier(smtp_port=smtp.port):
        event_id = str(uuid4())
        await producer.send_and_wait(
            topics.BUDGET_THRESHOLD_CROSSED, value=b"{not json",
            headers=[("ce_id", event_id.encode())],
        )  # fmt: skip
        found = await dead_letters.read(
            lambda r: header(r, "ce_id") == event_id, count=1, within=20.0
        )
    assert found, f"no dead letter for {event_id}"
    record = found[0]
    headers = dict(record.headers)
    assert record.value == b"{not json"
    assert b"not JSON" in headers["dlq_reason"]
    assert headers["dlq_consumer"] == b"notifier"
