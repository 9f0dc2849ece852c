"""The shared consumer loop on a fake Kafka consumer: each topic's records reach its own
BatchConsumer, poison goes to the DLQ, and offsets are committed in poll order only after the
handlers returned; a failed batch is sought back and read again."""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
from aiokafka.structs import TopicPartition
from rex_shared import cloudevents
from rex_shared.consumer import BatchConsumer, Received
from rex_shared.consuming import ConsumerLoop
from rex_shared.events import LlmCallCompleted, Usage
from rex_testkit.fake_consumer import FakeConsumer, consume_all, record


class Dlq:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None]] = []

    async def send_and_wait(self, topic: str, value: bytes | None = None, **kw: Any) -> None:
        self.sent.append((topic, value))


def _call(event_id: str, topic: str) -> Any:
    now = datetime.now(UTC)
    event = LlmCallCompleted(
        call_id=uuid4(), org_id="o", project_id="p", user_id="u", provider="openai",
        model="gpt-4o", requested_model="gpt-4o", api="chat.completions", started_at=now,
        completed_at=now, latency_ms=3, status="succeeded", usage=Usage(input_tokens=5),
    )  # fmt: skip
    out = cloudevents.build(event, source="test", event_id=event_id)
    return record(topic, out.data, headers=out.headers())


def _loop(handled: dict[str, list[str]], dlq: Dlq, fake: FakeConsumer, fail: list[str]) -> Any:
    def batches(topic: str) -> BatchConsumer[LlmCallCompleted]:
        async def handle(batch: list[Received[LlmCallCompleted]]) -> None:
            if fail and fail[0] in {r.event_id for r in batch}:
                fail.pop()
                raise asyncpg.PostgresConnectionError("database away")
            handled.setdefault(topic, []).extend(r.event_id for r in batch)

        return BatchConsumer(name="t", model=LlmCallCompleted, handle=handle, producer=dlq)  # type: ignore[arg-type]

    return ConsumerLoop({t: batches(t) for t in ("a", "b")}, bootstrap="unused", group_id="g",
                        client_id="t", retry_pause_s=0.01,
                        consumer=fake)  # type: ignore[arg-type]  # fmt: skip


async def test_each_topic_reaches_its_consumer_and_offsets_follow_the_handlers() -> None:
    fake, dlq, handled = FakeConsumer(), Dlq(), {}  # type: ignore[var-annotated]
    fake.add(_call("a1", "a"), _call("b1", "b"), record("a", b"{not json"))
    fake.add(_call("a2", "a"))
    await consume_all(_loop(handled, dlq, fake, []), fake)
    assert handled == {"a": ["a1", "a2"], "b": ["b1"]}
    assert dlq.sent == [("a.dlq", b"{not json")]
    assert fake.subscribed == ["a", "b"]
    assert fake.committed == {TopicPartition("a", 0): 3, TopicPartition("b", 0): 1}


async def test_a_failed_batch_is_sought_back_and_read_again_before_anything_is_committed() -> None:
    fake, dlq, handled = FakeConsumer(), Dlq(), {}  # type: ignore[var-annotated]
    fake.add(_call("a1", "a"))
    await consume_all(_loop(handled, dlq, fake, ["a1"]), fake)
    assert fake.seeks == [(TopicPartition("a", 0), 0)]
    assert handled == {"a": ["a1"]} and dlq.sent == []
    assert fake.committed == {TopicPartition("a", 0): 1}
