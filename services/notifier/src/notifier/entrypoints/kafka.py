"""Kafka subscriber: one consumer in the group for every budget topic; each topic's records go
to its BatchConsumer (one subscriber per topic would rebalance the group once per topic)."""

import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from rex_shared.consumer import BatchConsumer, no_decode, raw_records

from notifier.adapters.renderer import EVENTS

Plan = Callable[..., Awaitable[None]]


def consumers(producer: AIOKafkaProducer, plan: Plan) -> dict[str, BatchConsumer[Any]]:
    """One BatchConsumer per budget topic, each calling `plan(batch, event_type=topic)`."""
    return {
        topic: BatchConsumer(
            name="notifier",
            model=spec.model,
            producer=producer,
            handle=functools.partial(plan, event_type=topic),
        )
        for topic, spec in EVENTS.items()
    }


def subscribe(
    broker: KafkaBroker,
    consumers: Mapping[str, BatchConsumer[Any]],
    *,
    group_id: str,
    max_records: int = 500,
) -> None:
    """Feed each topic's records to its consumer; offsets commit after every handler ran."""

    # NACK_ON_ERROR: a transient failure re-raises, the batch is not committed and comes back
    # (records already handled are then skipped by the deliveries' unique key).
    @broker.subscriber(
        *consumers,
        group_id=group_id,
        batch=True,
        max_records=max_records,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        decoder=no_decode,  # BatchConsumer parses, so malformed JSON reaches the DLQ
    )
    async def on_budget_events(msg: KafkaMessage) -> None:
        by_topic: dict[str, list[ConsumerRecord]] = defaultdict(list)
        for record in raw_records(msg):
            by_topic[record.topic].append(record)
        for topic, records in by_topic.items():
            await consumers[topic].process(records)
