"""`commit_groups_at_end`: a fresh group sees only what is published after it was made."""

import secrets

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from rex_shared.kafka import commit_groups_at_end, ensure_topics
from rex_testkit.infra import Infra


async def _consume(bootstrap: str, group: str, topic: str, want: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        found: list[bytes] = []
        for _ in range(20):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += [r.value or b"" for r in records]
            if len(found) >= want:
                break
        return found
    finally:
        await consumer.stop()


async def test_groups_committed_at_the_end_skip_the_history(infra: Infra) -> None:
    tag = secrets.token_hex(4)
    topic, other = f"test.ends.{tag}", f"test.ends.{tag}.absent"
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap)
    await producer.start()
    try:
        for i in range(30):
            await producer.send_and_wait(topic, f"old-{i}".encode(), key=str(i).encode())
        groups = [f"g-{tag}-a", f"g-{tag}-b"]
        # A topic that does not exist yet is skipped, not created and not an error.
        await commit_groups_at_end(infra.kafka_bootstrap, groups, [topic, other])
        for i in range(5):
            await producer.send_and_wait(topic, f"new-{i}".encode(), key=str(i).encode())
    finally:
        await producer.stop()
    for group in groups:
        seen = await _consume(infra.kafka_bootstrap, group, topic, want=5)
        assert sorted(seen) == [f"new-{i}".encode() for i in range(5)]
    # Without the commit, the same consumer would have replayed the history.
    fresh = await _consume(infra.kafka_bootstrap, f"g-{tag}-fresh", topic, want=35)
    assert len(fresh) == 35
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        assert other not in await admin.list_topics()
        await admin.delete_topics([topic, f"{topic}.dlq"])
    finally:
        await admin.close()
