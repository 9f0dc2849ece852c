"""Kafka plumbing: the idempotent producer, topic creation, and the dead-letter path."""

import logging
from collections.abc import Iterable
from contextlib import suppress

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord

from rex_shared import topics
from rex_shared.cloudevents import OutgoingEvent

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
    futures = [
        await producer.send(
            e.topic,
            value=e.data,
            key=e.key.encode() if e.key else None,
            headers=e.headers(),
        )
        for e in events
    ]
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


async def ensure_topics(
    bootstrap: str, names: Iterable[str], *, partitions: int = 3, replication: int = 1
) -> None:
    """Create the topics (and their DLQs) if missing; safe to call from every instance."""
    wanted = sorted({n for name in names for n in (name, topics.dlq(name))})
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="rex-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(name=n, num_partitions=partitions, replication_factor=replication)
            for n in wanted
            if n not in existing
        ]
        if new:
            # Another instance may win the race; its topics are as good as ours.
            with suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
    finally:
        await admin.close()
