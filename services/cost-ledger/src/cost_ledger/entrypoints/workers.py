"""Background loops of the ledger: the price catalog reload and the top-evaluations gauge."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, suppress

log = logging.getLogger(__name__)
TOP_EVALUATIONS_EVERY_S = 15.0


async def reload_prices_forever(reload: Callable[[], Awaitable[None]], every_s: float) -> None:
    """Re-read the catalog now and then, so prices added by another instance show up."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await reload()
        except Exception as exc:  # keep the last good book; try again next time
            log.warning("price catalog reload failed: %s", exc)


async def refresh_top_evaluations_forever(
    refresh: Callable[[], Awaitable[None]], every_s: float = TOP_EVALUATIONS_EVERY_S
) -> None:
    """Keep the most expensive evaluations' gauge fresh."""
    while True:
        try:
            await refresh()
        except Exception as exc:  # a dashboard figure: never worth stopping the service
            log.warning("top-evaluations gauge refresh failed: %s", exc)
        await asyncio.sleep(every_s)


def run_until_exit(stack: AsyncExitStack, loop: Awaitable[None]) -> None:
    """Run a loop as a task that the exit stack cancels."""
    stack.push_async_callback(_cancel, asyncio.ensure_future(loop))


async def _cancel(task: asyncio.Future[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
