"""Background loops: the delivery worker claims due deliveries and sends them, woken by NOTIFY
or every second."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress

from notifier.domain.delivery import Delivery
from notifier.ports import DeliveryStore

log = logging.getLogger(__name__)

Listen = Callable[[Callable[[], None]], Awaitable[Callable[[], Awaitable[None]]]]


class DeliveryWorker:
    """Sends up to `concurrency` deliveries at once, claiming a batch whenever fewer are in
    flight; any number of workers may share the table."""

    def __init__(
        self,
        *,
        store: DeliveryStore,
        send: Callable[[Delivery], Awaitable[object]],
        channel_keys: Sequence[str],
        listen: Listen | None = None,
        batch_size: int = 100,
        concurrency: int = 16,
        poll_s: float = 1.0,
        lease_s: float = 120.0,
        drain_s: float = 10.0,
    ) -> None:
        self._store, self._send, self._listen = store, send, listen
        self._channel_keys = tuple(channel_keys)
        self._batch_size, self._poll_s, self._lease_s = batch_size, poll_s, lease_s
        self._concurrency, self._drain_s = concurrency, drain_s
        self._sending = asyncio.Semaphore(concurrency)
        self._stopping = False
        self._inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], Awaitable[None]] | None = None

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        """Subscribe to wake-ups and start the loop in the background."""
        if self._listen is not None:
            self._unlisten = await self._listen(self.wake)
        self._task = asyncio.create_task(self._run(), name="notifier-delivery-worker")

    async def stop(self) -> None:
        """Let in-flight sends finish (up to `drain_s`), then stop; leftovers are retried later."""
        self._stopping = True
        self.wake()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._drain_s
        if self._task is not None:
            await asyncio.wait([self._task], timeout=self._drain_s)
            self._task.cancel()  # it only claims and waits: nothing is lost by cutting it off
            with suppress(asyncio.CancelledError):
                await self._task
        # A send cut off mid-conversation may already be delivered and would go out twice
        # after its lease expires, so give it time to finish first.
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=max(0.0, deadline - loop.time()))
        for task in self._inflight:
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._unlisten is not None:
            await self._unlisten()

    async def run_once(self) -> int:
        """Claim one batch, send it and wait for the sends; returns how many were claimed."""
        claimed = await self._claim(self._batch_size)
        await asyncio.gather(*self._inflight)
        return claimed

    async def _claim(self, limit: int) -> int:
        claimed = await self._store.claim(
            limit=limit, lease_s=self._lease_s, channel_keys=self._channel_keys
        )
        for delivery, wait in claimed:
            task = asyncio.create_task(self._guarded(delivery, wait))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(claimed)

    async def _guarded(self, delivery: Delivery, wait: float) -> None:
        if wait > 0:
            await asyncio.sleep(wait)  # its rate-limit slot is this close
        try:
            async with self._sending:  # at most `concurrency` sends at once
                await self._send(delivery)
        except Exception:  # the row keeps its lease and comes back; never kill the loop
            log.exception("delivery %s could not be recorded", delivery.id)

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            if len(self._inflight) >= self._concurrency:
                # Busy: claim the next batch when a send finishes. Batches, not a row per
                # finished send: a claim costs a few round trips whatever its size.
                await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
                continue
            self._wake.clear()  # before claiming, so a NOTIFY during the claim is not lost
            try:
                handled = await self._claim(self._batch_size)
                backoff = 0.5
            except Exception as exc:  # database away: keep polling, more slowly
                log.warning("delivery worker: %s; retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if handled < self._batch_size:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_s)
