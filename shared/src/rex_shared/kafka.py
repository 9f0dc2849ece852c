"""Kafka plumbing: the idempotent producer, sending events, and the dead-letter path.

Topic creation and group commits live in rex_shared.kafka_admin; they are imported here too
because `rex_shared.kafka` is the one import path the services, tests and benches use.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord

from rex_shared import topics
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.kafka_admin import (
    DLQ_RETENTION_MS,
    EVENT_RETENTION_MS,
    commit_groups_at_end,
    ensure_topics,
)
from rex_shared.observability import count_published

log = logging.getLogger(__name__)


def make_producer(bootstrap: str, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer: acks from all in-sync replicas, no duplicates on retry; one
    that replaces itself after a fatal error (see RenewingProducer)."""

    def build() -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",  # a record is sent only once every in-sync replica has it
            enable_idempotence=True,  # broker de-duplicates our retries
            linger_ms=5,
            request_timeout_ms=15000,
        )

    return RenewingProducer(build)


# The producer's idempotence state no longer matches the broker's: every later send to that
# partition fails the same way, however often it is retried.
FATAL_PRODUCER_ERRORS = (
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
)


class RenewingProducer:
    """An AIOKafkaProducer that starts afresh after a fatal error instead of failing forever.

    aiokafka's idempotent producer cannot recover from OutOfOrderSequenceNumber (seen after a
    broker restart, aio-libs/aiokafka#1017) or a fenced producer id: every later send to that
    partition fails the same way until the process restarts. Callers already retry (the outbox
    keeps its rows, a consumer's batch is redelivered), so the first send after such an error
    builds a new producer (a new producer id) and goes on; a record the broker may already
    hold is at worst sent again, which consumers dedupe by event id.
    """

    def __init__(self, build: Callable[[], AIOKafkaProducer]) -> None:
        self._build = build
        self._inner = build()
        self._started = False
        self._failed = False
        self._lock = asyncio.Lock()
        self.renewals = 0

    async def start(self) -> None:
        await self._inner.start()
        self._started = True

    async def stop(self) -> None:
        self._started = False
        await self._inner.stop()

    def _broken(self) -> bool:
        if not self._started:
            return False
        task = getattr(getattr(self._inner, "_sender", None), "sender_task", None)
        return self._failed or (task is not None and task.done())

    def _watch(self, inner: AIOKafkaProducer, future: Any) -> Any:
        def check(done: asyncio.Future[Any]) -> None:
            if done.cancelled() or inner is not self._inner:
                return
            if isinstance(done.exception(), FATAL_PRODUCER_ERRORS):
                self._failed = True

        future.add_done_callback(check)
        return future

    async def _healthy(self) -> AIOKafkaProducer:
        if self._broken():
            async with self._lock:
                if self._broken():
                    old, self._inner = self._inner, self._build()
                    with suppress(Exception):
                        await old.stop()
                    try:
                        await self._inner.start()
                    except Exception:
                        self._failed = True  # Kafka still away: build afresh next time
                        raise
                    self._failed = False
                    self.renewals += 1
                    log.warning("Kafka producer failed fatally; replaced by a new one")
        return self._inner

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        inner = await self._healthy()
        return self._watch(inner, await inner.send(*args, **kwargs))

    async def send_batch(self, *args: Any, **kwargs: Any) -> Any:
        inner = await self._healthy()
        return self._watch(inner, await inner.send_batch(*args, **kwargs))

    async def send_and_wait(self, *args: Any, **kwargs: Any) -> Any:
        inner = await self._healthy()
        try:
            return await (await inner.send(*args, **kwargs))
        except FATAL_PRODUCER_ERRORS:
            if inner is self._inner:
                self._failed = True
            raise

    async def partitions_for(self, topic: str) -> Any:
        return await (await self._healthy()).partitions_for(topic)

    def __getattr__(self, name: str) -> Any:  # create_batch, flush, client, ...
        return getattr(self._inner, name)


async def send_events(producer: AIOKafkaProducer, events: Iterable[OutgoingEvent]) -> None:
    """Send a batch and wait until the broker acknowledged every record."""
    sent = list(events)
    futures = [
        await producer.send(
            e.topic,
            value=e.data,
            key=e.key.encode() if e.key else None,
            headers=e.headers(),
        )
        for e in sent
    ]
    for future in futures:
        await future
    count_published(e.topic for e in sent)


_PARTITIONER = DefaultPartitioner()


async def send_events_batched(producer: AIOKafkaProducer, events: Iterable[OutgoingEvent]) -> None:
    """`send_events` with one record batch per partition instead of one call per record: the
    same records, keys, headers and partitions (keyed records go to murmur2(key) % partitions,
    as `send` does with the default partitioner), far less work per record."""
    grouped: dict[tuple[str, int], list[OutgoingEvent]] = {}
    partitions: dict[str, list[int]] = {}
    for e in events:
        if e.topic not in partitions:
            partitions[e.topic] = sorted(await producer.partitions_for(e.topic))
        key = e.key.encode() if e.key else None
        part = _PARTITIONER(key, partitions[e.topic], partitions[e.topic])
        grouped.setdefault((e.topic, part), []).append(e)
    futures = []
    for (topic, part), group in grouped.items():
        batch = producer.create_batch()
        for e in group:
            key = e.key.encode() if e.key else None
            while batch.append(key=key, value=e.data, timestamp=None, headers=e.headers()) is None:
                if batch.record_count() == 0:
                    raise ValueError(f"event {e.id} is larger than a record batch")
                futures.append(await producer.send_batch(batch, topic, partition=part))
                batch = producer.create_batch()
        if batch.record_count():
            futures.append(await producer.send_batch(batch, topic, partition=part))
    for future in futures:
        await future


async def send_to_dlq(
    producer: AIOKafkaProducer, record: ConsumerRecord, reason: str, *, consumer: str
) -> None:
    """Copy a record to `<topic>.dlq` with why it failed and where it came from."""
    headers = [
        *(record.headers or ()),
        ("dlq_reason", reason[:2000].encode()),
        ("dlq_source_topic", record.topic.encode()),
        ("dlq_source_partition", str(record.partition).encode()),
        ("dlq_source_offset", str(record.offset).encode()),
        ("dlq_consumer", consumer.encode()),
    ]
    await producer.send_and_wait(
        topics.dlq(record.topic), value=record.value, key=record.key, headers=headers
    )
    log.warning(
        "dead-lettered %s[%s]@%s: %s", record.topic, record.partition, record.offset, reason
    )


__all__ = [
    "DLQ_RETENTION_MS",
    "EVENT_RETENTION_MS",
    "FATAL_PRODUCER_ERRORS",
    "RenewingProducer",
    "commit_groups_at_end",
    "ensure_topics",
    "make_producer",
    "send_events",
    "send_events_batched",
    "send_to_dlq",
]
