"""Retry timing: full jitter, Retry-After honoured (seconds, milliseconds, HTTP dates)."""

import asyncio
from datetime import UTC, datetime

import pytest
from evaluator.adapters.retry import Failure, Retrier
from evaluator.domain.backoff import RetryPolicy, delay_s, retry_after_s, retryable

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_retries=3, base_s=0.5, cap_s=4.0)


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [(0, 1.0, 0.5), (1, 1.0, 1.0), (2, 0.5, 1.0), (5, 1.0, 4.0), (3, 0.0, 0.0)],
)
def test_backoff_is_full_jitter_under_a_cap(attempt: int, rand: float, expected: float) -> None:
    assert delay_s(POLICY, attempt, None, rand) == pytest.approx(expected)


def test_retry_after_wins_with_at_most_ten_percent_jitter() -> None:
    assert delay_s(POLICY, 0, 7.0, 0.0) == 7.0
    assert delay_s(POLICY, 0, 7.0, 0.999) == pytest.approx(7.7, abs=0.01)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "250", "retry-after": "3"}, 0.25),
        ({"retry-after": "Thu, 01 Jan 2026 12:00:09 GMT"}, 9.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_in_every_form(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_s(headers, NOW) == expected


@pytest.mark.parametrize(
    ("status", "expected"), [(429, True), (500, True), (529, True), (None, True), (400, False),
                             (401, False), (404, False)]
)  # fmt: skip
def test_what_is_worth_retrying(status: int | None, expected: bool) -> None:
    assert retryable(status) is expected


class _Flaky(Exception):
    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status, self.headers = status, headers


def _classify(exc: Exception) -> Failure | None:
    return Failure(exc.status, exc.headers) if isinstance(exc, _Flaky) else None


async def test_the_retrier_waits_as_told_then_succeeds() -> None:
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    failures = [_Flaky(429, {"retry-after": "2"}), _Flaky(503, {})]

    async def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    retrier = Retrier(POLICY, asyncio.Semaphore(1), sleep=sleep, rand=lambda: 0.5)
    assert await retrier.run(attempt, _classify) == "ok"
    assert waits == [pytest.approx(2.1), pytest.approx(0.5)]


async def test_the_retrier_gives_up_on_client_errors_and_after_the_last_retry() -> None:
    async def sleep(s: float) -> None:
        return None

    calls = 0

    async def bad_request() -> str:
        nonlocal calls
        calls += 1
        raise _Flaky(400, {})

    retrier = Retrier(POLICY, sleep=sleep)
    with pytest.raises(_Flaky):
        await retrier.run(bad_request, _classify)
    assert calls == 1

    async def overloaded() -> str:
        nonlocal calls
        calls += 1
        raise _Flaky(529, {})

    calls = 0
    with pytest.raises(_Flaky):
        await retrier.run(overloaded, _classify)
    assert calls == 4  # one try and three retries


async def test_a_retry_after_beyond_the_limit_fails_at_once() -> None:
    async def attempt() -> str:
        raise _Flaky(429, {"retry-after": "3600"})

    with pytest.raises(_Flaky):
        await Retrier(POLICY).run(attempt, _classify)
