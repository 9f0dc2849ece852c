"""The subscriber wiring on FastStream's in-memory broker: typed events in, poison to the DLQ."""

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any
from uuid import uuid4

from budget.entrypoints.kafka import subscribe_cost_recorded
from budget_fakes import FakeProducer
from faststream.kafka import KafkaBroker, TestKafkaBroker
from rex_shared import cloudevents, topics
from rex_shared.consumer import BatchConsumer, Received
from rex_shared.events import CostComponents, LlmCostRecorded, Usage

NOW = datetime(2024, 5, 10, 12, tzinfo=UTC)


def cost_event(total: str = "0.5") -> cloudevents.OutgoingEvent:
    data = LlmCostRecorded(
        call_id=uuid4(),
        org_id="o1",
        project_id="p1",
        user_id="u1",
        provider="openai",
        model="gpt-4o",
        status="priced",
        usage=Usage(),
        cost=CostComponents(total=D(total)),
        occurred_at=NOW,
        recorded_at=NOW,
    )
    return cloudevents.build(data, source="rex/cost-ledger", key="o1")


class Recorder:
    def __init__(self, fail_for: D | None = None) -> None:
        self.batches: list[list[Received[LlmCostRecorded]]] = []
        self.fail_for = fail_for

    async def __call__(self, batch: list[Received[LlmCostRecorded]]) -> None:
        if any(r.event.cost.total == self.fail_for for r in batch):
            raise ValueError("cannot count this one")
        self.batches.append(batch)


def wire(handle: Recorder, producer: FakeProducer) -> KafkaBroker:
    broker = KafkaBroker("localhost:9092")
    consumer = BatchConsumer(name="budget", model=LlmCostRecorded, handle=handle, producer=producer)  # type: ignore[arg-type]
    subscribe_cost_recorded(broker, consumer, group_id="budget", max_records=500)
    return broker


async def publish(broker: KafkaBroker, *events: cloudevents.OutgoingEvent | bytes) -> None:
    for e in events:
        if isinstance(e, bytes):
            await broker.publish(e, topics.LLM_COST_RECORDED, headers={"ce_id": "poison"})
        else:
            headers: dict[str, Any] = {k: v.decode() for k, v in e.headers()}
            await broker.publish(e.data, topics.LLM_COST_RECORDED, key=e.key, headers=headers)


async def test_a_recorded_cost_reaches_the_handler_typed_with_its_event_id() -> None:
    handle, producer = Recorder(), FakeProducer()
    sent = cost_event("0.25")
    broker = wire(handle, producer)
    async with TestKafkaBroker(broker) as br:
        await publish(br, sent)
    [[received]] = handle.batches
    assert received.event_id == sent.id
    assert received.event.cost.total == D("0.25")
    assert producer.sent == []


async def test_a_message_that_is_not_json_goes_to_the_dead_letter_topic() -> None:
    handle, producer = Recorder(), FakeProducer()
    broker = wire(handle, producer)
    async with TestKafkaBroker(broker) as br:
        await publish(br, b"{not json")
    [(topic, value, _, headers)] = producer.sent
    assert topic == "llm.cost.recorded.dlq" and value == b"{not json"
    assert b"not JSON" in headers["dlq_reason"]
    assert handle.batches == []


async def test_an_event_that_breaks_the_contract_is_dead_lettered_with_the_reason() -> None:
    handle, producer = Recorder(), FakeProducer()
    broker = wire(handle, producer)
    bad = json.dumps({"call_id": "nope", "org_id": "o1"}).encode()
    async with TestKafkaBroker(broker) as br:
        await publish(br, bad)
    [(_, _, _, headers)] = producer.sent
    assert headers["dlq_reason"].startswith(b"invalid LlmCostRecorded")


async def test_an_event_the_handler_keeps_failing_on_is_dead_lettered_alone() -> None:
    handle, producer = Recorder(fail_for=D("6.66")), FakeProducer()
    broker = wire(handle, producer)
    good, bad = cost_event("1"), cost_event("6.66")
    async with TestKafkaBroker(broker) as br:
        await br.publish_batch(
            good.data, bad.data, topic=topics.LLM_COST_RECORDED, headers={"ce_id": "shared-id"}
        )
    [(topic, value, _, headers)] = producer.sent
    assert topic == "llm.cost.recorded.dlq" and value == bad.data
    assert b"processing failed: ValueError" in headers["dlq_reason"]
    assert [[r.event.cost.total for r in b] for b in handle.batches] == [[D("1")]]
