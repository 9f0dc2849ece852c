"""The consumer wiring on a fake Kafka consumer: the shared loop, the BatchConsumer and the
handler together; typed events in, poison to the DLQ."""

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

from budget.entrypoints.kafka import cost_recorded_loop
from budget_fakes import FakeProducer
from rex_shared import cloudevents, topics
from rex_shared.consumer import BatchConsumer, Received
from rex_shared.events import LlmCostRecorded
from rex_testkit.budget.builders import a_cost
from rex_testkit.fake_consumer import FakeConsumer, consume_all, record

NOW = datetime(2024, 5, 10, 12, tzinfo=UTC)


def cost_event(total: str = "0.5") -> cloudevents.OutgoingEvent:
    return cloudevents.build(a_cost(total, at=NOW), source="rex/cost-ledger", key="o1")


class Recorder:
    def __init__(self, fail_for: D | None = None) -> None:
        self.batches: list[list[Received[LlmCostRecorded]]] = []
        self.fail_for = fail_for

    async def __call__(self, batch: list[Received[LlmCostRecorded]]) -> None:
        if any(r.event.cost.total == self.fail_for for r in batch):
            raise ValueError("cannot count this one")
        self.batches.append(batch)


async def consume(handle: Recorder, producer: FakeProducer, *batch: Any) -> None:
    """Run the budget's consumer loop over one polled batch of `batch` (events or raw bytes)."""
    consumer = BatchConsumer(name="budget", model=LlmCostRecorded, handle=handle, producer=producer)  # type: ignore[arg-type]
    fake, records = FakeConsumer(), []
    loop = cost_recorded_loop(
        consumer,
        bootstrap="unused",
        group_id="budget",
        max_records=500,
        kafka=fake,  # type: ignore[arg-type]
    )
    for e in batch:
        if isinstance(e, bytes):
            records.append(record(topics.LLM_COST_RECORDED, e, headers=[("ce_id", b"poison")]))
        elif isinstance(e, cloudevents.OutgoingEvent):
            records.append(
                record(topics.LLM_COST_RECORDED, e.data, headers=e.headers(), key=_key(e))
            )
        else:  # (value, ce_id)
            records.append(record(topics.LLM_COST_RECORDED, e[0], headers=[("ce_id", e[1])]))
    fake.add(*records)  # one poll
    await consume_all(loop, fake)


def _key(event: cloudevents.OutgoingEvent) -> bytes | None:
    return event.key.encode() if event.key else None


async def test_a_recorded_cost_reaches_the_handler_typed_with_its_event_id() -> None:
    handle, producer = Recorder(), FakeProducer()
    sent = cost_event("0.25")
    await consume(handle, producer, sent)
    [[received]] = handle.batches
    assert received.event_id == sent.id
    assert received.event.cost.total == D("0.25")
    assert producer.sent == []


async def test_a_message_that_is_not_json_goes_to_the_dead_letter_topic() -> None:
    handle, producer = Recorder(), FakeProducer()
    await consume(handle, producer, b"{not json")
    [(topic, value, _, headers)] = producer.sent
    assert topic == "llm.cost.recorded.dlq" and value == b"{not json"
    assert b"not JSON" in headers["dlq_reason"]
    assert handle.batches == []


async def test_an_event_that_breaks_the_contract_is_dead_lettered_with_the_reason() -> None:
    handle, producer = Recorder(), FakeProducer()
    bad = json.dumps({"call_id": "nope", "org_id": "o1"}).encode()
    await consume(handle, producer, bad)
    [(_, _, _, headers)] = producer.sent
    assert headers["dlq_reason"].startswith(b"invalid LlmCostRecorded")


async def test_an_event_the_handler_keeps_failing_on_is_dead_lettered_alone() -> None:
    handle, producer = Recorder(fail_for=D("6.66")), FakeProducer()
    good, bad = cost_event("1"), cost_event("6.66")
    await consume(handle, producer, (good.data, b"shared-id"), (bad.data, b"shared-id"))
    [(topic, value, _, headers)] = producer.sent
    assert topic == "llm.cost.recorded.dlq" and value == bad.data
    assert b"processing failed: ValueError" in headers["dlq_reason"]
    assert [[r.event.cost.total for r in b] for b in handle.batches] == [[D("1")]]
