"""FastStream subscriber: `llm.cost.recorded` batches into the BatchConsumer."""

import asyncio

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from rex_shared import topics
from rex_shared.consumer import TRANSIENT, BatchConsumer, raw_records
from rex_shared.events import LlmCostRecorded

# Pause before a batch is redelivered after an infrastructure error, so a database or
# broker outage does not turn into a hot retry loop.
TRANSIENT_BACKOFF_S = 1.0


def subscribe_cost_recorded(
    broker: KafkaBroker,
    consumer: BatchConsumer[LlmCostRecorded],
    *,
    group_id: str,
    max_records: int,
    session_timeout_ms: int = 10_000,
) -> None:
    """Register the batch subscriber; offsets are committed only after the handler succeeded."""
    subscriber = broker.subscriber(
        topics.LLM_COST_RECORDED,
        group_id=group_id,
        batch=True,
        max_records=max_records,
        # Commit after the database commit; on error the batch is sought back and redelivered.
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=session_timeout_ms // 3,
    )

    @subscriber
    async def on_cost_recorded(msg: KafkaMessage) -> None:
        try:
            await consumer.process(raw_records(msg))
        except TRANSIENT:
            await asyncio.sleep(TRANSIENT_BACKOFF_S)
            raise
