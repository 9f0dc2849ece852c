"""Kafka plumbing: the idempotent producer, topic creation, and the dead-letter path."""

import logging
from collections.abc import Iterable, Mapping
from contextlib import suppress

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord

from rex_shared import topics
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.observability import count_published

log = logging.getLogger(__name__)


def make_producer(bootstrap: str, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer: acks from all in-sync replicas, no duplicates on retry."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",  # a record is sent only once every in-sync replica has it
        enable_idempotence=True,  # broker de-duplicates our retries
        linger_ms=5,
        request_timeout_ms=15000,
    )


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
