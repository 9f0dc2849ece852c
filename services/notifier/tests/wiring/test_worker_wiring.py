"""The delivery worker loop on fakes: woken promptly, polling as a fallback, never dying."""

import asyncio
from collections.abc import Callable
from typing import Any

from notifier.domain.delivery import Delivery
from notifier.domain.samples import threshold_crossed
from notifier.entrypoints.workers import DeliveryWorker
from notifier.ports import NewDelivery


def _row(event_id: str) -> NewDelivery:
    data = threshold_crossed(kind="actual", severity="info").model_dump(mode="json")
    return NewDelivery(event_id, "budget.threshold.crossed", "org", "email:0", "email", data)


class Listener:
    """Fakes LISTEN/NOTIFY: the test calls `notify()` where PostgreSQL would."""

    def __init__(self) -> None:
        self.callback: Callable[[], None] | None = None
        self.stopped = False

    async def __call__(self, callback: Callable[[], None]) -> Callable[[], Any]:
        self.callback = callback

        async def stop() -> None:
            self.stopped = True

        return stop

    def notify(self) -> None:
        assert self.callback is not None
        self.callback()


def _worker(store: Any, send: Callable[[Delivery], Any], **options: Any) -> DeliveryWorker:
    return DeliveryWorker(store=store, send=send, channel_keys=["email:0"], **options)


async def _until(condition: Callable[[], bool], within: float) -> float:
    start = asyncio.get_running_loop().time()
    while not condition():
        assert asyncio.get_running_loop().time() - start < within, "condition never held"
        await asyncio.sleep(0.005)
    return asyncio.get_running_loop().time() - start


async def test_a_notification_wakes_the_worker_long_before_the_next_poll(store: Any) -> None:
    sent: list[Delivery] = []

    async def send(delivery: Delivery) -> None:
        sent.append(delivery)
        await store.mark_sent(delivery)

    listener = Listener()
    worker = _worker(store, send, listen=listener, poll_s=30.0)
    await worker.start()
    await asyncio.sleep(0.05)  # the first (empty) claim has run; now it waits up to 30 s
    await store.add([_row("e-1")])
    listener.notify()
    elapsed = await _until(lambda: len(sent) == 1, within=2.0)
    await worker.stop()
    assert elapsed < 1.0
    assert listener.stopped


async def test_without_notifications_the_poll_finds_due_rows(store: Any) -> None:
    sent: list[Delivery] = []

    async def send(delivery: Delivery) -> None:
        sent.append(delivery)
        await store.mark_sent(delivery)

    worker = _worker(store, send, poll_s=0.05)
    await worker.start()
    await asyncio.sleep(0.05)
    await store.add([_row("e-2")])
    await _until(lambda: len(sent) == 1, within=2.0)
    await worker.stop()


async def test_a_send_that_blows_up_does_not_stop_the_loop(store: Any) -> None:
    calls: list[str] = []

    async def send(delivery: Delivery) -> None:
        calls.append(delivery.event_id)
        if delivery.event_id == "bad":
            raise RuntimeError("could not record")
        await store.mark_sent(delivery)

    await store.add([_row("bad"), _row("good")])
    worker = _worker(store, send, poll_s=0.05, concurrency=1, lease_s=0.05)
    await worker.start()
    await _until(lambda: "good" in calls and calls.count("bad") >= 2, within=2.0)
    await worker.stop()


async def test_stopping_lets_an_in_flight_send_finish(store: Any) -> None:
    started, finished = asyncio.Event(), []

    async def slow_send(delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.append(delivery.event_id)

    await store.add([_row("slow")])
    worker = _worker(store, slow_send, poll_s=0.05, drain_s=5.0)
    await worker.start()
    await started.wait()
    await worker.stop()
    assert finished == ["slow"]


async def test_stopping_gives_up_on_a_send_that_outlasts_the_drain(store: Any) -> None:
    started = asyncio.Event()

    async def stuck_send(delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(60)

    await store.add([_row("stuck")])
    worker = _worker(store, stuck_send, poll_s=0.05, drain_s=0.1)
    await worker.start()
    await started.wait()
    elapsed = await _until_done(worker.stop())
    assert elapsed < 2.0


async def _until_done(stopping: Any) -> float:
    start = asyncio.get_running_loop().time()
    await stopping
    return asyncio.get_running_loop().time() - start
