"""Topic creation with partitions and retention, and consumer lag, on the real broker."""

import secrets
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import TopicPartition
from prometheus_client import REGISTRY
from rex_shared import observability as obs
from rex_shared.consumer import raw_records
from rex_shared.kafka import DLQ_RETENTION_MS, ensure_topics
from rex_testkit.infra import Infra


@pytest.fixture
async def admin(infra: Infra) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await client.start()
    yield client
    await client.close()


async def topic_config(admin: AIOKafkaAdminClient, topic: str) -> dict[str, str]:
    (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    ((_, _, _, _, entries),) = response.resources
    return {entry[0]: entry[1] for entry in entries}


async def partition_count(admin: AIOKafkaAdminClient, topic: str) -> int:
    (described,) = await admin.describe_topics([topic])
    return len(described["partitions"])


async def test_topics_and_their_dlqs_get_partitions_retention_and_config_once(
    infra: Infra, admin: AIOKafkaAdminClient
) -> None:
    topic = f"ops-test-{secrets.token_hex(4)}"
    try:
        await ensure_topics(
            infra.kafka_bootstrap, [topic], partitions=2, retention_ms=3_600_000,
            config={"cleanup.policy": "delete", "max.message.bytes": "2000000"},
        )  # fmt: skip
        # Again, with other values, as a second replica or a restart would: nothing changes.
        await ensure_topics(infra.kafka_bootstrap, [topic], partitions=5, retention_ms=1)
        main, dead = await topic_config(admin, topic), await topic_config(admin, f"{topic}.dlq")
        assert (main["retention.ms"], main["max.message.bytes"]) == ("3600000", "2000000")
        assert dead["retention.ms"] == str(DLQ_RETENTION_MS)  # dead letters wait longer
        assert await partition_count(admin, topic) == 2
        assert await partition_count(admin, f"{topic}.dlq") == 2
    finally:
        await admin.delete_topics([topic, f"{topic}.dlq"])


async def test_lag_is_measured_from_what_the_consumer_fetched(
    infra: Infra, admin: AIOKafkaAdminClient
) -> None:
    topic = f"ops-lag-{secrets.token_hex(4)}"
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    try:
        for n in range(10):
            await producer.send_and_wait(topic, f"{n}".encode())
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        fetched = await consumer.getmany(tp, timeout_ms=10_000, max_records=4)
        batch = fetched[tp]
        # As FastStream hands it over: the records plus the consumer that fetched them.
        records = raw_records(SimpleNamespace(raw_message=tuple(batch), consumer=consumer))
        obs.observe_batch("lag-test", records, now=obs.now())
        lag = REGISTRY.get_sample_value(
            "rex_consumer_lag", {"consumer": "lag-test", "topic": topic, "partition": "0"}
        )
        assert lag == 10 - len(batch)
        assert 0 < len(batch) <= 4
    finally:
        await consumer.stop()
        await producer.stop()
        await admin.delete_topics([topic, f"{topic}.dlq"])
