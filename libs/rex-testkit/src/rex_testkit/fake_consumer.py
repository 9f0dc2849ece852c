"""An AIOKafkaConsumer stand-in for wiring tests of rex_shared.consuming.ConsumerLoop: it hands
out the records it was given, honours seeks and keeps the commits, so the loop, the
BatchConsumers and the handlers run together without Kafka."""

import asyncio
import dataclasses
from collections.abc import Iterable
from typing import Any

from aiokafka.structs import ConsumerRecord, OffsetAndMetadata, TopicPartition
from rex_shared.consuming import ConsumerLoop

from rex_testkit.waiting import eventually


def record(
    topic: str, value: bytes, *, headers: Iterable[tuple[str, bytes]] = (), key: bytes | None = None
) -> ConsumerRecord:
    """A record as aiokafka delivers it (offsets are set when it is added to a FakeConsumer)."""
    return ConsumerRecord(topic, 0, -1, 0, 0, key, value, None, 0, len(value), list(headers))


class FakeConsumer:
    """One partition per topic; each `add` is one poll's worth: `getmany` returns, per
    partition, the records from the read position up to the end of the `add` they came in."""

    def __init__(self) -> None:
        self.log: dict[TopicPartition, list[ConsumerRecord]] = {}
        self.cuts: dict[TopicPartition, list[int]] = {}  # where each add ended
        self.position: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.seeks: list[tuple[TopicPartition, int]] = []
        self.subscribed: list[str] = []

    def add(self, *records: ConsumerRecord) -> None:
        """Append records to their topic's partition 0, numbering their offsets."""
        for r in records:
            tp = TopicPartition(r.topic, 0)
            log = self.log.setdefault(tp, [])
            log.append(dataclasses.replace(r, partition=0, offset=len(log)))
        for tp, log in self.log.items():
            cuts = self.cuts.setdefault(tp, [])
            if not cuts or cuts[-1] < len(log):
                cuts.append(len(log))

    def subscribe(self, topics: list[str]) -> None:
        self.subscribed = list(topics)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def getmany(self, *, timeout_ms: int = 0, max_records: int | None = None) -> Any:
        batch: dict[TopicPartition, list[ConsumerRecord]] = {}
        for tp, log in self.log.items():
            start = self.position.get(tp, 0)
            if start < len(log):
                end = min(c for c in self.cuts[tp] if c > start)
                batch[tp] = log[start : min(end, start + (max_records or end))]
                self.position[tp] = start + len(batch[tp])
        if not batch:
            await asyncio.sleep(min(timeout_ms, 20) / 1000)
        return batch

    def highwater(self, tp: TopicPartition) -> int:
        return len(self.log.get(tp, ()))

    async def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        self.committed.update({tp: o.offset for tp, o in offsets.items()})

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.position[tp] = offset

    def all_committed(self) -> bool:
        return all(self.committed.get(tp) == len(log) for tp, log in self.log.items())


async def consume_all(loop: ConsumerLoop, fake: FakeConsumer) -> None:
    """Run `loop` until every record `fake` holds is committed, then stop it."""
    await loop.start()
    try:
        await eventually(lambda: fake.all_committed() or None, within=10, interval=0.01)
    finally:
        await loop.stop()
