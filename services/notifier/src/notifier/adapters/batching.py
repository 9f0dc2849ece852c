"""Group commit: concurrent callers' rows written in one transaction, each caller awaiting it."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """Collects items for up to `wait_s` (or `max_items`), writes them with one `flush`, and
    resolves every caller when that write committed (or raises its error in every caller)."""

    def __init__(
        self,
        flush: Callable[[Sequence[T]], Awaitable[None]],
        *,
        wait_s: float = 0.005,
        max_items: int = 200,
    ) -> None:
        self._flush, self._wait_s, self._max = flush, wait_s, max_items
        self._items: list[tuple[T, asyncio.Future[None]]] = []
        self._timer: asyncio.TimerHandle | None = None

    async def submit(self, item: T) -> None:
        """Write `item` with the next group; returns once it is committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._items.append((item, done))
        if len(self._items) >= self._max:
            self._start()
        elif self._timer is None:
            self._timer = loop.call_later(self._wait_s, self._start)
        await done

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        group, self._items = self._items, []
        if group:
            asyncio.get_running_loop().create_task(self._write(group))

    async def _write(self, group: list[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            await self._flush([item for item, _ in group])
        except Exception as exc:  # every caller learns the group failed
            for _, done in group:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, done in group:
            if not done.done():
                done.set_result(None)
