"""`llm.cost.recorded` batches -> BatchConsumer -> handle_cost_recorded, on the one shared loop."""

from aiokafka import AIOKafkaConsumer
from rex_shared import topics
from rex_shared.consumer import BatchConsumer
from rex_shared.consuming import ConsumerLoop
from rex_shared.events import LlmCostRecorded

# Pause before a batch is redelivered after an infrastructure error, so a database or
# broker outage does not turn into a hot retry loop.
TRANSIENT_BACKOFF_S = 1.0


def cost_recorded_loop(
    consumer: BatchConsumer[LlmCostRecorded],
    *,
    bootstrap: str,
    group_id: str,
    max_records: int,
    session_timeout_ms: int = 10_000,
    kafka: AIOKafkaConsumer | None = None,
) -> ConsumerLoop:
    """The group member; offsets are committed only after the handler's transaction committed."""
    return ConsumerLoop(
        {topics.LLM_COST_RECORDED: consumer},
        bootstrap=bootstrap,
        group_id=group_id,
        client_id="rex-budget",
        max_records=max_records,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=session_timeout_ms // 3,
        # One batch at a time, as before: concurrent batches would contend for the same
        # budgets' counters (lock waits, deadlocks redelivered) instead of going faster.
        depth=1,
        retry_pause_s=TRANSIENT_BACKOFF_S,
        consumer=kafka,
    )
