"""`llm.call.completed` batches -> BatchConsumer -> record_calls, on the one shared loop."""

from aiokafka import AIOKafkaProducer
from rex_shared.consumer import BatchConsumer, Handler, fast_decode
from rex_shared.consuming import ConsumerLoop
from rex_shared.events import LlmCallCompleted

from cost_ledger.config import Settings


def calls_consumers(
    s: Settings, producer: AIOKafkaProducer, handle: Handler[LlmCallCompleted], *, service: str
) -> list[ConsumerLoop]:
    """The group members of this process, each with its own BatchConsumer around `handle`."""
    return [
        ConsumerLoop(
            {s.calls_topic: BatchConsumer(name=service, model=LlmCallCompleted, handle=handle,
                                          producer=producer, decoder=fast_decode)},
            bootstrap=s.kafka_bootstrap, group_id=s.consumer_group,
            client_id=f"{service}-{member}", max_records=s.consumer_max_records,
            max_partition_fetch_bytes=s.consumer_max_partition_fetch_bytes,
            session_timeout_ms=s.consumer_session_timeout_ms, depth=s.consumer_depth,
        )
        for member in range(s.consumer_concurrency)
    ]  # fmt: skip
