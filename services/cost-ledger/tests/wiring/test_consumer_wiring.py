"""The subscriber wiring on FastStream's in-memory broker: good events reach the handler,
poison (malformed JSON, invalid events) goes to the dead-letter topic with its reason."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from cost_ledger.entrypoints.consumer import subscribe
from faststream.kafka import KafkaBroker, TestKafkaBroker
from rex_shared import cloudevents, topics
from rex_shared.consumer import BatchConsumer, Received
from rex_shared.events import LlmCallCompleted, Usage


@dataclass
class FakeProducer:
    """Stands in for the idempotent producer: remembers what was dead-lettered."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send_and_wait(self, topic: str, **kwargs: Any) -> None:
        self.sent.append({"topic": topic, **kwargs})


def _event() -> LlmCallCompleted:
    now = datetime.now(UTC)
    return LlmCallCompleted(
        call_id=uuid4(), org_id="o", project_id="p", user_id="u", provider="openai",
        model="gpt-4o", requested_model="gpt-4o", api="chat.completions", started_at=now,
        completed_at=now, latency_ms=3, status="succeeded", usage=Usage(input_tokens=5),
    )  # fmt: skip


async def test_good_events_reach_the_handler_and_poison_goes_to_the_dlq() -> None:
    handled: list[Received[LlmCallCompleted]] = []

    async def handle(batch: list[Received[LlmCallCompleted]]) -> None:
        handled.extend(batch)

    producer = FakeProducer()
    consumer = BatchConsumer(name="cost-ledger", model=LlmCallCompleted, handle=handle,
                             producer=producer)  # type: ignore[arg-type]  # fmt: skip
    broker = KafkaBroker("127.0.0.1:1")
    subscribe(broker, consumer, group_id="cost-ledger", max_records=500)
    good = cloudevents.build(_event(), source="test", event_id="evt-1")
    headers = {k: v.decode() for k, v in good.headers()}
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(good.data, topics.LLM_CALL_COMPLETED, headers=headers)
        await test_broker.publish(b"{not json", topics.LLM_CALL_COMPLETED, key=b"bad-json",
                                  headers={"content-type": "application/json"})  # fmt: skip
        await test_broker.publish(b'{"call_id": "x"}', topics.LLM_CALL_COMPLETED, key=b"bad-evt")

    assert [(r.event_id, r.event.model) for r in handled] == [("evt-1", "gpt-4o")]
    dead = {p["key"]: p for p in producer.sent}
    assert {p["topic"] for p in producer.sent} == {topics.dlq(topics.LLM_CALL_COMPLETED)}
    assert set(dead) == {b"bad-json", b"bad-evt"}
    reasons = {k: dict(p["headers"])["dlq_reason"].decode() for k, p in dead.items()}
    assert "not JSON" in reasons[b"bad-json"]
    assert "invalid LlmCallCompleted" in reasons[b"bad-evt"]
