"""The periodic sweep: closes periods of quiet budgets and expires forgotten holds."""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import suppress

log = logging.getLogger(__name__)


class Sweeper:
    """Runs `job` every `interval_s` seconds in the background; a failure waits for the next
    round. Every instance sweeps: the job's SQL makes concurrent sweeps harmless."""

    def __init__(self, job: Callable[[], Awaitable[object]], *, interval_s: float) -> None:
        self._job, self._interval = job, interval_s
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    def start(self) -> None:
        """Begin sweeping (the first round runs at once: periods may have ended while down)."""
        self._task = asyncio.create_task(self._run(), name="budget-sweeper")

    async def stop(self) -> None:
        """Stop after the current round's transaction, if any, rolls back."""
        if self._task:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                result = await self._job()
                self.rounds += 1
                log.debug("sweep done: %s", result)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database away: the next round tries again
                log.warning("budget sweep failed: %s", exc)
            # Jitter keeps the instances of a deployment from sweeping in lockstep.
            await asyncio.sleep(self._interval * random.uniform(0.8, 1.2))
