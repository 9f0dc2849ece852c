"""RenewingProducer: a producer whose idempotence state broke is replaced, not retried forever."""

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, OutOfOrderSequenceNumber
from rex_shared.kafka import RenewingProducer


class FakeProducer:
    """Fails every send with `error` when given one, like aiokafka after a broker restart."""

    def __init__(self, error: Exception | None, start_error: Exception | None = None) -> None:
        self.error, self.started, self.stopped, self.sent = error, False, False, []
        self.start_error = start_error

    async def start(self) -> None:
        if self.start_error is not None:
            raise self.start_error
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic: str, value: bytes, **_: Any) -> "asyncio.Future[str]":
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if self.error is not None:
            future.set_exception(self.error)
        else:
            self.sent.append(value)
            future.set_result("ok")
        return future


def building(
    *errors: Exception | None, start_errors: tuple[Exception | None, ...] = ()
) -> tuple[list[FakeProducer], Any]:
    built: list[FakeProducer] = []
    pending, starts = list(errors), list(start_errors)

    def build() -> FakeProducer:
        built.append(
            FakeProducer(pending.pop(0) if pending else None, starts.pop(0) if starts else None)
        )
        return built[-1]

    return built, build


async def test_a_fatal_sequence_error_is_raised_once_then_a_new_producer_sends() -> None:
    built, build = building(OutOfOrderSequenceNumber())
    producer = RenewingProducer(build)
    await producer.start()
    with pytest.raises(OutOfOrderSequenceNumber):
        await producer.send_and_wait("t", b"first")
    assert await producer.send_and_wait("t", b"again") == "ok"
    assert len(built) == 2 and built[0].stopped and built[1].started
    assert built[1].sent == [b"again"] and producer.renewals == 1


async def test_a_transient_error_keeps_the_same_producer() -> None:
    built, build = building(KafkaConnectionError())
    producer = RenewingProducer(build)
    await producer.start()
    for _ in range(2):
        with pytest.raises(KafkaConnectionError):
            await producer.send_and_wait("t", b"x")
    assert len(built) == 1 and producer.renewals == 0


async def test_a_replacement_that_cannot_start_is_replaced_again_on_the_next_send() -> None:
    built, build = building(OutOfOrderSequenceNumber(), start_errors=(None, KafkaConnectionError()))
    producer = RenewingProducer(build)
    await producer.start()
    with pytest.raises(OutOfOrderSequenceNumber):
        await producer.send_and_wait("t", b"first")
    with pytest.raises(KafkaConnectionError):  # the broker is still away
        await producer.send_and_wait("t", b"second")
    assert await producer.send_and_wait("t", b"third") == "ok"
    assert len(built) == 3 and built[2].sent == [b"third"] and producer.renewals == 1
