"""Kafka consumer: one member of the group for every budget topic, on the one shared loop; each
topic's records go to its BatchConsumer (one member per topic would rebalance the group once
per topic)."""

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rex_shared.consumer import BatchConsumer
from rex_shared.consuming import ConsumerLoop

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


def consumer_loop(
    consumers: Mapping[str, BatchConsumer[Any]],
    *,
    bootstrap: str,
    group_id: str,
    max_records: int = 500,
    kafka: AIOKafkaConsumer | None = None,
) -> ConsumerLoop:
    """Feed each topic's records to its consumer; offsets commit after every handler ran."""
    # A transient failure re-raises: the batch is not committed, the loop seeks back and it
    # comes back (records already handled are then skipped by the deliveries' unique key).
    # One batch at a time, as before: a batch's deliveries are planned before the next's.
    return ConsumerLoop(
        consumers,
        bootstrap=bootstrap,
        group_id=group_id,
        client_id="rex-notifier",
        max_records=max_records,
        depth=1,
        consumer=kafka,
    )
