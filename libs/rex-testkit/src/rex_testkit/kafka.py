"""Kafka in tests: consumer groups that start at the topics' end, and tails that read what
is published after they were opened."""

import time
from collections.abc import Callable, Iterable
from types import TracebackType
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord, TopicPartition
from rex_shared.kafka import commit_groups_at_end, ensure_topics

Match = Callable[[ConsumerRecord], bool]


async def fresh_group(bootstrap: str, topics: Iterable[str], *, prefix: str) -> str:
    """A new consumer group committed at the current end of `topics` (created when missing):
    it reads only what is published from now on, not earlier runs' events."""
    names = list(topics)
    group = f"{prefix}-{uuid4().hex[:8]}"
    await ensure_topics(bootstrap, names)
    await commit_groups_at_end(bootstrap, [group], names)
    return group


async def partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    """Every partition of `topic`, in order."""
    # A producer's partitions_for waits for the topic's metadata; a fresh consumer's does not.
    probe = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await probe.start()
    try:
        return [TopicPartition(topic, p) for p in sorted(await probe.partitions_for(topic))]
    finally:
        await probe.stop()


def header(record: ConsumerRecord, name: str) -> str | None:
    """A record header's value as text (None when absent)."""
    return next((v.decode() for k, v in record.headers or () if k == name), None)


class TopicTail:
    """Reads topics from where they ended when the tail was opened."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer

    @classmethod
    async def open(cls, bootstrap: str, *topics: str) -> "TopicTail":
        """Assign every partition of `topics` and seek to its end as of now."""
        parts = [tp for topic in topics for tp in await partitions(bootstrap, topic)]
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        consumer.assign(parts)
        # Resolved now, before the test publishes: "the end" must not move with it.
        for tp, end in (await consumer.end_offsets(parts)).items():
            consumer.seek(tp, end)
        return cls(consumer)

    async def read(
        self, match: Match, *, count: int, within: float = 30.0, settle: float = 0.0
    ) -> list[ConsumerRecord]:
        """Records that `match`; waits for `count`, then `settle` more seconds for extras
        (duplicates would show there)."""
        found: list[ConsumerRecord] = []
        deadline = time.monotonic() + within
        while len(found) < count and time.monotonic() < deadline:
            found += await self._poll(match)
        settle_until = time.monotonic() + settle
        while time.monotonic() < settle_until:
            found += await self._poll(match)
        return found

    async def _poll(self, match: Match) -> list[ConsumerRecord]:
        batches = await self.consumer.getmany(timeout_ms=200)
        return [r for records in batches.values() for r in records if match(r)]

    async def close(self) -> None:
        await self.consumer.stop()

    async def __aenter__(self) -> "TopicTail":
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
