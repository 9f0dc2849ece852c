"""The one Kafka consumer loop: polled batches -> each topic's BatchConsumer, on plain aiokafka.

Poll a batch, hand each topic's records to its BatchConsumer (decode, DLQ, the handler's
transaction) while the previous batch may still be in its transaction, and commit its offsets
only once it and every batch polled before it returned. The cost-ledger, the budget and the
notifier all consume through it; no consumer rides FastStream (FastStream only generates the
AsyncAPI documents, rex_shared.asyncapi). It replaced FastStream batch subscribers: at full
ingest FastStream's per-batch machinery (dependency injection, middlewares, message wrappers)
cost a noticeable share of the ledger's CPU (shared/tests/integration/test_consumer_loop.py
holds the guarantees). Measured when the budget and the notifier moved onto it (before/after,
alternated, shared 2-core machine): ledger_ingest 72-81 us CPU per event either way (events/s
6,961-11,993, noise); budget_threshold_latency p99 25-90 ms before, 24-25 ms after; soak at
1000/s for 60 s: 998 -> 999 calls/s, p99 241 -> 239 ms (docs/CONVENTIONS.md, Events).
"""

import asyncio
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata, TopicPartition

from rex_shared import observability as obs
from rex_shared.consumer import TRANSIENT, BatchConsumer

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 1.0


def next_offsets(
    batch: Mapping[TopicPartition, Sequence[ConsumerRecord]],
) -> dict[TopicPartition, OffsetAndMetadata]:
    """What to commit once a polled batch is recorded: one past its last record, per partition."""
    return {tp: OffsetAndMetadata(recs[-1].offset + 1, "") for tp, recs in batch.items() if recs}


_Batch = dict[TopicPartition, list[ConsumerRecord]]


@dataclass
class _InFlight:
    batch: _Batch
    task: asyncio.Task[None]


class ConsumerLoop:
    """One member of the consumer group, polling and processing batches in a loop.

    Up to `depth` polled batches are processed at once (each in its own transaction): while one
    waits for PostgreSQL, the next is decoded and priced. Guarantees:
    - offsets are committed in poll order, each batch's only after its BatchConsumers returned
      for it AND for every batch polled before it, i.e. after their database transactions
      committed (and their poison went to the DLQ);
    - a failure (database or Kafka away, or anything unexpected) waits for the other batches
      in flight, seeks every partition they hold back to the failed batch's first record (or
      the later batch's, for a partition the failed one lacks) and pauses: everything from
      there is read again, nothing is skipped, and what was recorded meanwhile adds nothing
      twice (idempotent by event id);
    - a rebalance while a batch is in flight makes its commit fail: the partitions' new owner
      reads the batch again (idempotent, as above);
    - `stop` lets the batches in flight finish (and commit) before leaving the group.
    """

    def __init__(
        self,
        batches: Mapping[str, BatchConsumer[Any]],
        *,
        bootstrap: str,
        group_id: str,
        client_id: str,
        max_records: int = 500,
        max_partition_fetch_bytes: int = 1024 * 1024,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3000,
        depth: int = 2,
        retry_pause_s: float = RETRY_PAUSE_S,
        poll_timeout_ms: int = 500,
        consumer: AIOKafkaConsumer | None = None,
    ) -> None:
        self.batches, self.topics, self.group_id = dict(batches), list(batches), group_id
        self.max_records, self.depth = max_records, depth
        self._retry_pause_s, self._poll_timeout_ms = retry_pause_s, poll_timeout_ms
        # `consumer` replaces the real one (tests: an object that hands out given records).
        self._consumer = consumer or AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group_id, client_id=client_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            max_partition_fetch_bytes=max_partition_fetch_bytes,
            fetch_max_bytes=max(max_partition_fetch_bytes * 4, 50 * 1024 * 1024),
            session_timeout_ms=session_timeout_ms, heartbeat_interval_ms=heartbeat_interval_ms,
        )  # fmt: skip
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: deque[_InFlight] = deque()
        self.batches_done = 0

    async def start(self) -> None:
        self._consumer.subscribe(self.topics)
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.group_id}")

    async def stop(self, grace_s: float = 15.0) -> None:
        """Finish the batches in flight (their commits included), then leave the group."""
        # 15 s: what the pod's shutdown budget leaves the consumers (rex_shared.runtime).
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace_s)
            except TimeoutError:
                self._task.cancel()
                with suppress(asyncio.CancelledError):
                    await self._task
                for flight in self._inflight:
                    flight.task.cancel()
            except Exception:  # the loop died: already logged, stopping anyway
                pass
        await self._consumer.stop()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            if self._inflight and self._inflight[0].task.done():
                await self._finish_oldest()
                continue
            if len(self._inflight) >= self.depth:
                await asyncio.wait({self._inflight[0].task})
                continue
            try:
                polled = await self._consumer.getmany(
                    # With work in flight, look briefly: its end is what to wait for next.
                    timeout_ms=20 if self._inflight else self._poll_timeout_ms,
                    max_records=self.max_records,
                )
            except KafkaError:
                log.warning("polling failed, retrying", exc_info=True)
                await asyncio.sleep(self._retry_pause_s)
                continue
            batch = {tp: recs for tp, recs in polled.items() if recs}
            if batch:
                task = asyncio.create_task(self._process(batch))
                self._inflight.append(_InFlight(batch, task))
            elif self._inflight:
                await asyncio.wait({self._inflight[0].task}, timeout=self._poll_timeout_ms / 1000)
        while self._inflight:  # stopping: finish what was polled
            await asyncio.wait({self._inflight[0].task})
            await self._finish_oldest()

    async def _process(self, batch: _Batch) -> None:
        """Each topic's records to its BatchConsumer, one topic after the other."""
        by_topic: dict[str, list[TopicPartition]] = {}
        for tp in batch:  # per partition, not per record
            by_topic.setdefault(tp.topic, []).append(tp)
        for topic, tps in by_topic.items():
            records = [r for tp in tps for r in batch[tp]]
            # Each partition's end offset as of this fetch, for the lag gauge (what
            # obs.highwaters finds, without a TopicPartition per record).
            ends = {tp: end for tp in tps if isinstance(end := self._consumer.highwater(tp), int)}
            await self.batches[topic].process(obs.Records(records, ends))

    async def _finish_oldest(self) -> None:
        """Commit the oldest batch's offsets, or start over from it when it failed."""
        oldest = self._inflight.popleft()
        exc = oldest.task.exception()
        if exc is None:
            await self._commit(oldest.batch)
            return
        # TRANSIENT (the database or Kafka away) or a DLQ send that failed: read it again.
        kind = "transient" if isinstance(exc, TRANSIENT) else "unexpected"
        log.warning("%s failure, batch will be redelivered", kind, exc_info=exc)
        later = list(self._inflight)
        self._inflight.clear()
        if later:  # their offsets must not be committed before the failed batch's
            await asyncio.wait({f.task for f in later})
            for flight in later:  # read again below whatever they did
                if not flight.task.cancelled():
                    flight.task.exception()
        first: dict[TopicPartition, int] = {}
        for flight in (oldest, *later):
            for tp, recs in flight.batch.items():
                first.setdefault(tp, recs[0].offset)
        for tp, offset in first.items():
            with suppress(IllegalStateError, KafkaError):  # revoked meanwhile: not ours
                self._consumer.seek(tp, offset)
        await asyncio.sleep(self._retry_pause_s)

    async def _commit(self, batch: _Batch) -> None:
        try:
            await self._consumer.commit(next_offsets(batch))
        except (CommitFailedError, IllegalStateError) as exc:
            # A rebalance took the partitions: their new owner reads the batch again, and
            # recording it again adds nothing (idempotent by event id).
            log.warning("offsets not committed (rebalance): %s", exc)
        except KafkaError:
            log.warning("offset commit failed; the batch may be read again", exc_info=True)
        self.batches_done += 1
