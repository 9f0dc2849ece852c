"""Batch consumption with a dead-letter path: parse, dedupe-ready handoff, poison isolated."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from rex_shared import observability as obs
from rex_shared.cloudevents import PoisonMessage, decode, parse
from rex_shared.events import Contract
from rex_shared.kafka import send_to_dlq

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Contract)

EVENTS_CONSUMED = Counter("rex_events_consumed_total", "Events consumed", ["consumer", "topic"])
EVENTS_DEAD = Counter(
    "rex_events_dead_lettered_total", "Events sent to a DLQ", ["consumer", "topic"]
)
BATCH_SIZE = Histogram(
    "rex_consumer_batch_size",
    "Records per consumed batch",
    ["consumer"],
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000),
)

# Errors that say "the infrastructure is away", not "this event is bad": never dead-letter on them.
TRANSIENT = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
)


@dataclass(frozen=True)
class Received(Generic[E]):
    """A parsed event with its CloudEvents id (the idempotency key)."""

    event_id: str
    event: E


Handler = Callable[[list[Received[E]]], Awaitable[None]]
Decoder = Callable[[ConsumerRecord, type[E]], Received[E]]


def standard_decode(record: ConsumerRecord, model: type[E]) -> Received[E]:
    """JSON-decode, read the CloudEvents id, validate; PoisonMessage with the reason."""
    incoming = parse(record.value, record.headers)
    return Received(incoming.id, decode(incoming, model))


def fast_decode(record: ConsumerRecord, model: type[E]) -> Received[E]:
    """Same result as `standard_decode`, validated straight from the bytes (pydantic-core parses
    the JSON once); the slow path runs only to explain a failure or find a missing id."""
    ce_id = None
    for key, value in record.headers or ():
        if key == "ce_id" and value:
            ce_id = value  # the last one wins, as in headers_dict
    if ce_id is None or not record.value:
        return standard_decode(record, model)
    try:
        return Received(ce_id.decode("utf-8", "replace"), model.model_validate_json(record.value))
    except (ValidationError, ValueError, TypeError):
        return standard_decode(record, model)  # raises PoisonMessage with the precise reason


class BatchConsumer(Generic[E]):
    """Turns raw records into typed events; poison and unprocessable events go to the DLQ."""

    def __init__(
        self,
        *,
        name: str,
        model: type[E],
        handle: Handler[E],
        producer: AIOKafkaProducer,
        attempts: int = 3,
        decoder: Decoder[E] = standard_decode,
    ) -> None:
        self.name, self._model, self._handle = name, model, handle
        self._producer, self._attempts, self._decode = producer, attempts, decoder

    async def process(self, records: Sequence[ConsumerRecord]) -> None:
        """Handle one polled batch; raises on transient failure so the batch is redelivered."""
        batch = list(records)
        BATCH_SIZE.labels(self.name).observe(len(batch))
        good: list[tuple[ConsumerRecord, Received[E]]] = []
        for record in batch:
            try:
                good.append((record, self._decode(record, self._model)))
            except PoisonMessage as exc:
                await self._dead(record, str(exc))
        if good:
            fields = obs.batch_fields([(r.event_id, r.event) for _, r in good])
            with obs.log_context(consumer=self.name, **fields):
                await self._handle_with_isolation(good)
        obs.observe_batch(
            self.name, batch, now=obs.now(), ends=getattr(records, "highwaters", None)
        )
        per_topic: dict[str, int] = {}
        for record in batch:
            per_topic[record.topic] = per_topic.get(record.topic, 0) + 1
        for topic, count in per_topic.items():  # one increment per topic, not per record
            EVENTS_CONSUMED.labels(self.name, topic).inc(count)

    async def _handle_with_isolation(self, good: list[tuple[ConsumerRecord, Received[E]]]) -> None:
        error: Exception | None = None
        for attempt in range(self._attempts):
            try:
                await self._handle([r for _, r in good])
                return
            except TRANSIENT:
                raise
            except Exception as exc:  # a bad event in the batch, or a bug: narrow it down
                error = exc
                await asyncio.sleep(0.05 * (attempt + 1))
        log.warning("%s: batch of %d failed (%s); retrying one by one", self.name, len(good), error)
        for record, received in good:
            try:
                with obs.log_context(**obs.batch_fields([(received.event_id, received.event)])):
                    await self._handle([received])
            except TRANSIENT:
                raise
            except Exception as exc:
                await self._dead(record, f"processing failed: {type(exc).__name__}: {exc}")

    async def _dead(self, record: ConsumerRecord, reason: str) -> None:
        with obs.log_context(consumer=self.name, **obs.record_fields(record)):
            await send_to_dlq(self._producer, record, reason, consumer=self.name)
        EVENTS_DEAD.labels(self.name, record.topic).inc()


def raw_records(message: Any) -> Sequence[ConsumerRecord]:
    """The aiokafka records behind a FastStream message (single or batch)."""
    raw = message.raw_message
    # A real batch arrives as a tuple; FastStream's in-memory TestKafkaBroker hands a list.
    records = tuple(raw) if isinstance(raw, (tuple, list)) else (raw,)
    # Each partition's end offset as of this fetch, for the lag gauge after the batch.
    return obs.Records(records, obs.highwaters(getattr(message, "consumer", None), records))
