"""Running one provider call with retries (backoff + jitter, Retry-After) under a
per-provider concurrency gate."""

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from evaluator.domain.backoff import RetryPolicy, delay_s, retry_after_s, retryable

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """What an SDK error says about retrying: its HTTP status (None: no answer) and headers."""

    status: int | None
    headers: Mapping[str, str]


Classifier = Callable[[Exception], Failure | None]


@dataclass
class Retrier:
    """Retries an attempt per `policy`; `gate` bounds attempts in flight for one provider."""

    policy: RetryPolicy
    gate: asyncio.Semaphore | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rand: Callable[[], float] = random.random

    def _slot(self) -> AbstractAsyncContextManager[Any]:
        return self.gate if self.gate is not None else nullcontext()

    async def run(self, attempt: Callable[[], Awaitable[T]], classify: Classifier) -> T:
        """The attempt's result; the last error once retries are spent or not worth it."""
        for number in range(self.policy.max_retries + 1):
            try:
                async with self._slot():
                    return await attempt()
            except Exception as exc:
                wait = self._wait(exc, classify, number)
                if wait is None:
                    raise
            await self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, exc: Exception, classify: Classifier, number: int) -> float | None:
        failure = classify(exc)
        if failure is None or not retryable(failure.status) or number >= self.policy.max_retries:
            return None
        after = retry_after_s(failure.headers, datetime.now(UTC))
        if after is not None and after > self.policy.max_retry_after_s:
            return None
        return delay_s(self.policy, number, after, self.rand())
