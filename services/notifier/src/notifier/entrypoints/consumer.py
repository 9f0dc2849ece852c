"""Kafka subscribers: translate polled records into handler calls through BatchConsumer."""

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from rex_shared import topics
from rex_shared.consumer import BatchConsumer, no_decode, raw_records
from rex_shared.events import BudgetThresholdCrossed


def subscribe(
    broker: KafkaBroker,
    consumer: BatchConsumer[BudgetThresholdCrossed],
    *,
    group_id: str,
    max_records: int = 500,
) -> None:
    """Feed `budget.threshold.crossed` batches to `consumer`; offsets commit after the handler."""

    # NACK_ON_ERROR: a transient failure re-raises, the batch is not committed and comes back.
    @broker.subscriber(
        topics.BUDGET_THRESHOLD_CROSSED,
        group_id=group_id,
        batch=True,
        max_records=max_records,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        decoder=no_decode,  # BatchConsumer parses, so malformed JSON reaches the DLQ
    )
    async def on_threshold_crossed(msg: KafkaMessage) -> None:
        await consumer.process(raw_records(msg))
