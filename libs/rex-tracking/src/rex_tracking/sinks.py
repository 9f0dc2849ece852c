"""Where call events go: the outbox (durable or batched), Kafka directly, or a list."""

import asyncio
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg
from aiokafka import AIOKafkaProducer
from rex_shared import cloudevents
from rex_shared.events import LlmCallCompleted
from rex_shared.kafka import send_events
from rex_shared.outbox import OUTBOX_INSERT, RelayWaker, channel, enqueue, outbox_row

# The contract names one source for `llm.call.completed` (docs/events.md): calls tracked
# anywhere enter the pipeline as the evaluator's judge calls do. Strings, not an import: the
# evaluator depends on this package, never the other way round.
DEFAULT_SOURCE = "rex/evaluator"
# The outbox whose relay publishes tracked calls in REX's deployment: the evaluator's. Only
# the relay's wake-up channel depends on it; the pool decides which `outbox` table is written.
DEFAULT_SCHEMA = "evaluator"


class CostSink(Protocol):
    """Where call events go."""

    async def emit(self, event: LlmCallCompleted) -> None: ...


def outgoing(event: LlmCallCompleted, *, source: str = DEFAULT_SOURCE) -> cloudevents.OutgoingEvent:
    """The CloudEvent of a call: id and key are the call id, so a re-send is the same event."""
    call_id = str(event.call_id)
    return cloudevents.build(
        event, source=source, event_id=call_id, key=call_id, time=event.completed_at
    )


class OutboxSink:
    """Durable: each event is committed to the outbox before `emit` returns; the relay
    publishes it (Kafka down delays it, loses nothing). One statement, one round trip; the
    relay is woken just after the commit (RelayWaker: no NOTIFY serializing the commits of
    calls tracked concurrently)."""

    def __init__(
        self, pool: asyncpg.Pool, *, schema: str = DEFAULT_SCHEMA, source: str = DEFAULT_SOURCE
    ) -> None:
        self._pool, self._source = pool, source
        self._waker = RelayWaker(pool, channel(schema))

    async def emit(self, event: LlmCallCompleted) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(OUTBOX_INSERT, *outbox_row(outgoing(event, source=self._source)))
        self._waker.wake()

    async def close(self) -> None:
        """Drop a pending wake-up (the relay's polling finds the rows anyway)."""
        await self._waker.close()


class BufferedOutboxSink:
    """Cheapest per call: `emit` only queues the event; a background task commits batches to
    the outbox every `interval_s`. A crash loses at most that interval's events, so prefer
    OutboxSink where every cent must be counted."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        schema: str = DEFAULT_SCHEMA,
        source: str = DEFAULT_SOURCE,
        interval_s: float = 0.05,
    ) -> None:
        self._pool, self._schema, self._source = pool, schema, source
        self._interval = interval_s
        self._pending: list[LlmCallCompleted] = []
        self._task: asyncio.Task[None] | None = None

    async def emit(self, event: LlmCallCompleted) -> None:
        self._pending.append(event)
        if self._task is None:
            self._task = asyncio.create_task(self._flush_forever())

    async def flush(self) -> None:
        """Commit what is queued now."""
        batch, self._pending = self._pending, []
        if batch:
            events = [outgoing(e, source=self._source) for e in batch]
            async with self._pool.acquire() as conn, conn.transaction():
                await enqueue(conn, events, schema=self._schema)  # type: ignore[arg-type]

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def close(self) -> None:
        """Stop the background task and commit the rest."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()


class KafkaSink:
    """Straight to Kafka (no outbox): for code without a database. Kafka down means `emit`
    raises after the producer's own retries."""

    def __init__(self, producer: AIOKafkaProducer, *, source: str = DEFAULT_SOURCE) -> None:
        self._producer, self._source = producer, source

    async def emit(self, event: LlmCallCompleted) -> None:
        await send_events(self._producer, [outgoing(event, source=self._source)])


@dataclass
class MemorySink:
    """Keeps events in a list (tests, dry runs)."""

    events: list[LlmCallCompleted] = field(default_factory=list)

    async def emit(self, event: LlmCallCompleted) -> None:
        self.events.append(event)


_default_sink: list[CostSink] = []


def set_default_sink(sink: CostSink) -> None:
    """The sink used when a tracked call names none."""
    _default_sink[:] = [sink]


def default_sink() -> CostSink | None:
    """The sink set by `set_default_sink`, if any."""
    return _default_sink[0] if _default_sink else None
