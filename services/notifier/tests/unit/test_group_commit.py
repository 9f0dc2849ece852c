"""Group commit: concurrent marks written together, each caller released by its own commit."""

import asyncio
from collections.abc import Sequence

import pytest
from notifier.adapters.batching import GroupCommit


async def test_concurrent_items_are_written_in_one_flush_and_every_caller_waits_for_it() -> None:
    flushed: list[list[int]] = []

    async def flush(items: Sequence[int]) -> None:
        await asyncio.sleep(0.01)
        flushed.append(list(items))

    group = GroupCommit(flush, wait_s=0.005)
    await asyncio.gather(*(group.submit(i) for i in range(10)))
    assert flushed == [list(range(10))]  # one write, and nobody returned before it


async def test_a_full_group_is_written_at_once_without_waiting() -> None:
    flushed: list[int] = []

    async def flush(items: Sequence[int]) -> None:
        flushed.append(len(items))

    group = GroupCommit(flush, wait_s=60.0, max_items=3)
    await asyncio.wait_for(asyncio.gather(*(group.submit(i) for i in range(6))), timeout=1.0)
    assert flushed == [3, 3]


async def test_a_failed_write_fails_every_caller_of_its_group() -> None:
    async def flush(items: Sequence[int]) -> None:
        raise ConnectionResetError("database away")

    group = GroupCommit(flush, wait_s=0.001)
    results = await asyncio.gather(*(group.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionResetError) for r in results)
    with pytest.raises(ConnectionResetError):
        await group.submit(4)
