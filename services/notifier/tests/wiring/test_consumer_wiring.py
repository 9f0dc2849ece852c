"""The shared consumer loop, BatchConsumer and handler together on a fake Kafka consumer."""

import functools
from collections.abc import Callable
from typing import Any
from uuid import uuid4, uuid5

import pytest
from aiokafka.structs import TopicPartition
from notifier.adapters.renderer import EVENTS
from notifier.domain.routing import Target
from notifier.domain.samples import SAMPLES, forecast_exceeded, threshold_crossed
from notifier.entrypoints.kafka import consumer_loop, consumers
from notifier.handlers.deliveries import plan_deliveries
from rex_shared import cloudevents, topics
from rex_shared.consuming import ConsumerLoop
from rex_shared.events import REX_NAMESPACE
from rex_testkit.fake_consumer import FakeConsumer, consume_all, record
from rex_testkit.waiting import eventually

TOPIC = topics.BUDGET_THRESHOLD_CROSSED


class RecordingProducer:
    """Stands in for the Kafka producer: keeps what would go to a dead-letter topic."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, dict[str, bytes]]] = []

    async def send_and_wait(self, topic: str, value: bytes | None = None, **kw: Any) -> None:
        self.sent.append((topic, value, dict(kw.get("headers") or [])))


def _wired(
    store: Any, channels: list[Any], producer: RecordingProducer
) -> tuple[ConsumerLoop, FakeConsumer]:
    fake = FakeConsumer()  # stands in for Kafka: hands out the records added to it
    defaults = [Target(c.key, c.kind) for c in channels]
    plan = functools.partial(
        plan_deliveries, store=store, directory=NoChannels(), defaults=defaults
    )
    loop = consumer_loop(
        consumers(producer, plan),  # type: ignore[arg-type]
        bootstrap="unused",
        group_id="notifier",
        kafka=fake,  # type: ignore[arg-type]
    )
    return loop, fake


def _publish(fake: FakeConsumer, value: bytes, topic: str, headers: dict[str, str]) -> None:
    fake.add(record(topic, value, headers=[(k, v.encode()) for k, v in headers.items()]))


class NoChannels:
    """No org has channels of its own: the defaults apply."""

    async def targets(self, org_ids: Any) -> dict[str, Any]:
        return {}


def _event(event_id: str, event: Any = None) -> tuple[bytes, dict[str, str]]:
    event = event or threshold_crossed(kind="actual", severity="critical")
    out = cloudevents.build(event, source="test", event_id=event_id)
    return out.data, {k: v.decode() for k, v in out.headers()}


@pytest.fixture
def producer() -> RecordingProducer:
    return RecordingProducer()


async def test_an_event_plans_one_delivery_per_channel(
    store: Any, make_channel: Callable[..., Any], producer: RecordingProducer
) -> None:
    channels = [make_channel("email"), make_channel("slack")]
    loop, fake = _wired(store, channels, producer)
    value, headers = _event("alert-1")
    _publish(fake, value, TOPIC, headers)
    await consume_all(loop, fake)
    assert sorted(store.rows) == sorted(("alert-1", c.key) for c in channels)
    assert producer.sent == []


async def test_every_budget_topic_with_templates_is_consumed(
    store: Any, make_channel: Callable[..., Any], producer: RecordingProducer
) -> None:
    channel = make_channel("webhook")
    assert set(EVENTS) == {t for t in topics.ALL_TOPICS if t.startswith("budget.")}
    loop, fake = _wired(store, [channel], producer)
    for topic, sample in SAMPLES.items():
        value, headers = _event(f"id-{topic}", sample(kind="actual", severity="info"))
        _publish(fake, value, topic, headers)
    await consume_all(loop, fake)
    assert fake.subscribed == list(EVENTS)
    assert sorted(d.event_type for d in store.rows.values()) == sorted(SAMPLES)
    assert producer.sent == []


async def test_a_forecast_on_both_topics_is_delivered_once_per_channel(
    store: Any, make_channel: Callable[..., Any], producer: RecordingProducer
) -> None:
    channels = [make_channel("email"), make_channel("slack")]
    forecast = forecast_exceeded()
    crossed = threshold_crossed(kind="forecast", severity="warning").model_copy(
        update={"alert_id": forecast.alert_id}
    )
    forecast_id = str(uuid5(REX_NAMESPACE, f"forecast:{forecast.alert_id}"))  # as budget sends
    loop, fake = _wired(store, channels, producer)
    value, headers = _event(str(forecast.alert_id), crossed)
    _publish(fake, value, TOPIC, headers)
    value, headers = _event(forecast_id, forecast)
    _publish(fake, value, topics.BUDGET_FORECAST_EXCEEDED, headers)
    await consume_all(loop, fake)
    assert sorted(store.rows) == sorted((forecast_id, c.key) for c in channels)
    assert producer.sent == []


async def test_the_same_event_twice_is_planned_once(
    store: Any, make_channel: Callable[..., Any], producer: RecordingProducer
) -> None:
    loop, fake = _wired(store, [make_channel()], producer)
    value, headers = _event("alert-2")
    _publish(fake, value, TOPIC, headers)
    _publish(fake, value, TOPIC, headers)
    await consume_all(loop, fake)
    assert len(store.rows) == 1 and store.adds == 2


@pytest.mark.parametrize(
    ("value", "reason"),
    [(b"{not json", "not JSON"), (b'{"alert_id": "x"}', "invalid BudgetThresholdCrossed")],
)
async def test_poison_goes_to_the_dead_letter_topic(
    store: Any,
    make_channel: Callable[..., Any],
    producer: RecordingProducer,
    value: bytes,
    reason: str,
) -> None:
    loop, fake = _wired(store, [make_channel()], producer)
    _publish(fake, value, TOPIC, {"ce_id": str(uuid4())})
    await consume_all(loop, fake)
    [(topic, sent, headers)] = producer.sent
    assert (topic, sent) == (topics.dlq(TOPIC), value)
    assert reason in headers["dlq_reason"].decode()
    assert store.rows == {}


async def test_a_database_outage_is_raised_so_the_batch_is_redelivered(
    make_channel: Callable[..., Any], producer: RecordingProducer
) -> None:
    class DownStore:
        async def add(self, rows: Any) -> int:
            raise ConnectionRefusedError("database away")

    loop, fake = _wired(DownStore(), [make_channel()], producer)
    value, headers = _event("alert-3")
    _publish(fake, value, TOPIC, headers)
    with pytest.raises(ConnectionRefusedError):  # what the loop sees: the batch failed
        await loop.batches[TOPIC].process(fake.log[TopicPartition(TOPIC, 0)])
    await loop.start()  # and the loop: nothing committed, the batch sought back to be read again
    await eventually(lambda: fake.seeks or None, within=10, interval=0.01)
    await loop.stop()
    assert fake.committed == {} and fake.seeks[0] == (TopicPartition(TOPIC, 0), 0)
    assert producer.sent == []  # not dead-lettered: it is the infrastructure, not the event
