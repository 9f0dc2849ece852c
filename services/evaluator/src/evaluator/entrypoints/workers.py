"""The evaluator's background loops: evaluation runs as tasks (held so that shutdown can stop
them cleanly), the upkeep that makes them survive restarts (lease renewal, resuming, settling)
and the outbox relay that publishes what the runs stored."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaProducer
from rex_shared import topics
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.outbox import OutboxRelay

from evaluator.adapters.lease_repo import PgRunLeases
from evaluator.adapters.run_store import PgRunStore
from evaluator.config import QUEUED_CHANNEL, SCHEMA
from evaluator.domain.model import Evaluation
from evaluator.ports import Leases

log = logging.getLogger(__name__)


class RunScheduler:
    """Starts one task per evaluation run; a stopped run stays `running` and can resume later."""

    def __init__(
        self, run: Callable[[UUID], Coroutine[Any, Any, None]], max_active: int | None = None
    ) -> None:
        self._run = run
        self._tasks: dict[UUID, asyncio.Task[None]] = {}
        # At most `max_active` runs at once (the others wait their turn, still queued in the
        # database): an instance that also serves the API stays responsive under a burst.
        self._gate = asyncio.Semaphore(max_active) if max_active else None

    async def _gated(self, evaluation_id: UUID) -> None:
        if self._gate is None:
            await self._run(evaluation_id)
            return
        async with self._gate:
            await self._run(evaluation_id)

    def submit(self, evaluation_id: UUID) -> None:
        """Run the evaluation in the background (once, even if submitted twice)."""
        if evaluation_id in self._tasks:
            return
        task = asyncio.create_task(self._gated(evaluation_id), name=f"evaluation-{evaluation_id}")
        self._tasks[evaluation_id] = task
        task.add_done_callback(lambda t: self._done(evaluation_id, t))

    def _done(self, evaluation_id: UUID, task: asyncio.Task[None]) -> None:
        self._tasks.pop(evaluation_id, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("evaluation %s run failed", evaluation_id, exc_info=exc)

    @property
    def active(self) -> int:
        return len(self._tasks)

    def running(self) -> list[UUID]:
        return list(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until no run is in progress."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def drain(self, grace_s: float) -> None:
        """Wait up to `grace_s` for the runs (told to halt) to store their calls in flight."""
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=grace_s)

    async def stop(self) -> None:
        """Cancel every run in progress and wait for them to unwind."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task


class Upkeep:
    """Runs evaluations as soon as any instance queues one (LISTEN), and every `interval_s`
    renews this instance's leases, resumes runs nobody holds (after a restart or a crash),
    and settles reservations left unsettled (the budget service was away)."""

    def __init__(
        self,
        scheduler: RunScheduler,
        leases: Leases,
        settle: Callable[[Evaluation], Awaitable[None]],
        interval_s: float,
        pool: asyncpg.Pool | None = None,
    ) -> None:
        self._scheduler, self._leases, self._settle = scheduler, leases, settle
        self._interval, self._pool = interval_s, pool
        self._task: asyncio.Task[None] | None = None
        self._listener: Any = None

    async def start(self) -> None:
        if self._pool is not None:
            self._listener = await self._pool.acquire()
            await self._listener.add_listener(QUEUED_CHANNEL, self._on_queued)
        self._task = asyncio.create_task(self._forever(), name="evaluator-upkeep")

    def _on_queued(self, *args: object) -> None:
        with suppress(ValueError):
            self._scheduler.submit(UUID(str(args[-1])))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None and self._pool is not None:
            with suppress(Exception):
                await self._listener.remove_listener(QUEUED_CHANNEL, self._on_queued)
            await self._pool.release(self._listener)

    async def once(self) -> None:
        await self._leases.renew(self._scheduler.running())
        for evaluation_id in await self._leases.resumable():
            self._scheduler.submit(evaluation_id)
        for evaluation in await self._leases.unsettled():
            try:
                await self._settle(evaluation)
            except Exception as exc:
                log.warning("settling %s failed, will retry: %s", evaluation.id, exc)
                break  # the budget service is away: try again next round

    async def _forever(self) -> None:
        while True:
            try:
                await self.once()
            except Exception as exc:  # the database away: try again next round
                log.warning("evaluator upkeep failed: %s", exc)
            await asyncio.sleep(self._interval)


PRODUCES = (topics.LLM_CALL_COMPLETED, topics.EVALUATION_COMPLETED)


class Publishing:
    """The outbox relay and its producer, connected in the background: until Kafka answers,
    events wait in the outbox, none are lost."""

    def __init__(self, pool: asyncpg.Pool, bootstrap: str, partitions: int) -> None:
        self._pool, self._bootstrap, self._partitions = pool, bootstrap, partitions
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name="evaluator-kafka")

    async def _connect(self) -> None:
        delay = 0.5
        while True:
            producer = make_producer(self._bootstrap, client_id="rex-evaluator")
            try:
                await ensure_topics(self._bootstrap, PRODUCES, partitions=self._partitions)
                await producer.start()
                break
            except Exception as exc:
                await producer.stop()
                log.warning("Kafka not reachable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.producer = producer
        self.relay = OutboxRelay(self._pool, producer, schema=SCHEMA)
        await self.relay.start()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self.relay:
            await self.relay.stop()
        if self.producer:
            await self.producer.stop()


@dataclass
class RunWorkers:
    """This instance's runs and their upkeep, stopped in order at shutdown."""

    scheduler: RunScheduler
    upkeep: Upkeep
    halt: asyncio.Event
    leases: PgRunLeases
    store: PgRunStore

    async def stop(self, grace_s: float) -> None:
        """Upkeep first, then runs (calls in flight are paid for: they are stored), then the
        leases given back so that a restarted instance resumes at once."""
        await self.upkeep.stop()
        self.halt.set()  # no new judge calls
        await self.scheduler.drain(grace_s)
        await self.scheduler.stop()
        with suppress(Exception):
            await self.leases.release()
        await self.store.close()
