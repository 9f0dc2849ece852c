"""Evaluation runs as background tasks, held so that shutdown can stop them cleanly."""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any
from uuid import UUID

log = logging.getLogger(__name__)


class RunScheduler:
    """Starts one task per evaluation run; a stopped run stays `running` and can resume later."""

    def __init__(self, run: Callable[[UUID], Coroutine[Any, Any, None]]) -> None:
        self._run = run
        self._tasks: dict[UUID, asyncio.Task[None]] = {}

    def submit(self, evaluation_id: UUID) -> None:
        """Run the evaluation in the background (once, even if submitted twice)."""
        if evaluation_id in self._tasks:
            return
        task = asyncio.create_task(self._run(evaluation_id), name=f"evaluation-{evaluation_id}")
        self._tasks[evaluation_id] = task
        task.add_done_callback(lambda t: self._done(evaluation_id, t))

    def _done(self, evaluation_id: UUID, task: asyncio.Task[None]) -> None:
        self._tasks.pop(evaluation_id, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("evaluation %s run failed", evaluation_id, exc_info=exc)

    @property
    def active(self) -> int:
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until no run is in progress."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def stop(self) -> None:
        """Cancel every run in progress and wait for them to unwind."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
