"""The subscriber, BatchConsumer and handler together on FastStream's in-memory broker."""

import functools
from collections.abc import Callable
from typing import Any
from uuid import uuid4, uuid5

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from notifier.adapters.renderer import EVENTS
from notifier.domain.routing import Target
from notifier.domain.samples import SAMPLES, forecast_exceeded, threshold_crossed
from notifier.entrypoints.kafka import consumers, subscribe
from notifier.handlers.deliveries import plan_deliveries
from rex_shared import cloudevents, topics
from rex_shared.events import REX_NAMESPACE

TOPIC = topics.BUDGET_THRESHOLD_CROSSED


class RecordingProducer:
    """Stands in for the Kafka producer: keeps what would go to a dead-letter topic."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, dict[str, bytes]]] = []

    async def send_and_wait(self, topic: str, value: bytes | None = None, **kw: Any) -> None:
        self.sent.append((topic, value, dict(kw.get("headers") or [])))


def _wired(store: Any, channels: list[Any], producer: RecordingProducer) -> KafkaBroker:
    broker = KafkaBroker("127.0.0.1:1")  # never contacted: TestKafkaBroker patches it
    defaults = [Target(c.key, c.kind) for c in channels]
    plan = functools.partial(
        plan_deliveries, store=store, directory=NoChannels(), defaults=defaults
    )
    subscribe(broker, consumers(producer, plan), group_id="notifier")  # type: ignore[arg-type]
    return broker


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
    async with TestKafkaBroker(_wired(store, channels, producer)) as broker:
        value, headers = _event("alert-1")
        await broker.publish(value, TOPIC, headers=headers)
    assert sorted(store.rows) == sorted(("alert-1", c.key) for c in channels)
    assert producer.sent == []


async def test_every_budget_topic_with_templates_is_consumed(
    store: Any, make_channel: Callable[..., Any], producer: RecordingProducer
) -> None:
    channel = make_channel("webhook")
    assert set(EVENTS) == {t for t in topics.ALL_TOPICS if t.startswith("budget.")}
    async with TestKafkaBroker(_wired(store, [channel], producer)) as broker:
        for topic, sample in SAMPLES.items():
            value, headers = _event(f"id-{topic}", sample(kind="actual", severity="info"))
            await broker.publish(value, topic, headers=headers)
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
    async with TestKafkaBroker(_wired(store, channels, producer)) as broker:
        value, headers = _event(str(forecast.alert_id), crossed)
        await broker.publish(value, TOPIC, headers=headers)
        value, headers = _event(forecast_id, forecast)
        await broker.publish(value, topics.BUDGET_FORECAST_EXCEEDED, headers=headers)
    assert sorted(store.rows) == sorted((forecast_id, c.key) for c in channels)
    assert producer.sent == []


async def test_the_same_event_twice_is_planned_once(
    store: Any, make_channel: Callable[..., Any], producer: RecordingProducer
) -> None:
    async with TestKafkaBroker(_wired(store, [make_channel()], producer)) as broker:
        value, headers = _event("alert-2")
        await broker.publish(value, TOPIC, headers=headers)
        await broker.publish(value, TOPIC, headers=headers)
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
    async with TestKafkaBroker(_wired(store, [make_channel()], producer)) as broker:
        await broker.publish(value, TOPIC, headers={"ce_id": str(uuid4())})
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

    async with TestKafkaBroker(_wired(DownStore(), [make_channel()], producer)) as broker:
        value, headers = _event("alert-3")
        with pytest.raises(ConnectionRefusedError):
            await broker.publish(value, TOPIC, headers=headers)
    assert producer.sent == []  # not dead-lettered: it is the infrastructure, not the event
