"""Kafka plumbing: the idempotent producer, topic creation, and the dead-letter path."""

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    TopicAlreadyExistsError,
    UnknownProducerId,
)
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata

from rex_shared import topics
from rex_shared.cloudevents import OutgoingEvent
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


# Retention when the caller names none: a week of events to replay from, and a month for the
# dead letters, which wait for a person to look at them.
EVENT_RETENTION_MS = 7 * 24 * 3600 * 1000
DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    *,
    partitions: int = 3,
    replication: int = 1,
    retention_ms: int | None = EVENT_RETENTION_MS,
    dlq_retention_ms: int | None = DLQ_RETENTION_MS,
    config: Mapping[str, str] | None = None,
) -> None:
    """Create the topics (and their DLQs) if missing; safe to call from every instance.

    New topics get `partitions`, `replication`, the retention (None: the broker's default) and
    any further topic `config` (e.g. min.insync.replicas). Existing topics are left as they
    are: raising partitions moves keys to other partitions and is an operator's decision
    (docs/operations.md), so a topic with fewer partitions than asked is only logged.
    """
    wanted = {n: topics.dlq(n) for n in names}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="rex-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=replication,
                topic_configs=_topic_config(
                    dlq_retention_ms if dead else retention_ms, config or {}
                ),
            )
            for name, dead in _with_dlqs(wanted)
            if name not in existing
        ]
        if new:
            # Another instance may win the race; its topics are as good as ours.
            with suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        await _warn_if_fewer_partitions(admin, sorted(set(wanted) & existing), partitions)
    finally:
        await admin.close()


async def commit_groups_at_end(
    bootstrap: str, groups: Iterable[str], names: Iterable[str] = topics.ALL_TOPICS
) -> None:
    """Commit, for each of `groups`, the current end of every existing topic in `names`.

    A fresh consumer group would otherwise start at the topics' history (or wherever its
    offset reset points); tests, benchmarks and side stacks give their services a group of
    their own made this way, so they see only the events published from now on."""
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await probe.start()
    try:
        await probe._client.force_metadata_update()
        parts = [TopicPartition(t, p) for t in names for p in probe.partitions_for_topic(t) or ()]
        ends = dict(await probe.end_offsets(parts)) if parts else {}
    finally:
        await probe.stop()
    for group in groups:
        committer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await committer.start()
        try:
            if ends:
                committer.assign(list(ends))
                await committer.commit({tp: OffsetAndMetadata(o, "") for tp, o in ends.items()})
        finally:
            await committer.stop()


def _with_dlqs(wanted: Mapping[str, str]) -> list[tuple[str, bool]]:
    pairs = {name: False for name in wanted} | {dlq: True for dlq in wanted.values()}
    return sorted(pairs.items())


def _topic_config(retention_ms: int | None, config: Mapping[str, str]) -> dict[str, str]:
    settings = dict(config)
    if retention_ms is not None:
        settings.setdefault("retention.ms", str(retention_ms))
    return settings


async def _warn_if_fewer_partitions(
    admin: AIOKafkaAdminClient, names: list[str], partitions: int
) -> None:
    if not names:
        return
    try:
        described = await admin.describe_topics(names)
    except Exception as exc:  # only a warning is at stake; never block startup on it
        log.debug("could not describe topics %s: %s", names, exc)
        return
    for topic in described:
        count = len(topic.get("partitions") or ())
        if 0 < count < partitions:
            log.warning(
                "topic %s has %d partitions, fewer than the %d configured;"
                " see docs/operations.md (scaling) to add more",
                topic.get("topic"), count, partitions,
            )  # fmt: skip
