"""FastStream subscriber: `llm.call.completed` batches -> BatchConsumer -> record_calls."""

import asyncio
import logging

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from rex_shared import topics
from rex_shared.consumer import TRANSIENT, BatchConsumer, no_decode, raw_records
from rex_shared.events import LlmCallCompleted

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 1.0


def subscribe(
    broker: KafkaBroker,
    consumer: BatchConsumer[LlmCallCompleted],
    *,
    group_id: str,
    max_records: int,
    topic: str = topics.LLM_CALL_COMPLETED,
    max_partition_fetch_bytes: int = 1024 * 1024,
    session_timeout_ms: int = 10_000,
) -> None:
    """Register the batch subscriber; offsets are committed only after the handler returns."""

    @broker.subscriber(
        topic, group_id=group_id, batch=True, max_records=max_records,
        ack_policy=AckPolicy.NACK_ON_ERROR, auto_offset_reset="earliest", decoder=no_decode,
        max_partition_fetch_bytes=max_partition_fetch_bytes, session_timeout_ms=session_timeout_ms,
    )  # fmt: skip
    async def on_calls_completed(msg: KafkaMessage) -> None:
        try:
            await consumer.process(raw_records(msg))
        except TRANSIENT:
            # The database or Kafka is away: the batch is nacked and redelivered; pause so a
            # long outage is a slow retry loop, not a hot one.
            log.warning("transient failure, batch will be redelivered", exc_info=True)
            await asyncio.sleep(RETRY_PAUSE_S)
            raise
