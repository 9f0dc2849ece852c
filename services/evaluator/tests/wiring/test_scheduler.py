"""The run scheduler bounds how many evaluations run at once on an instance."""

import asyncio
from uuid import UUID, uuid4

from evaluator.entrypoints.workers import RunScheduler


async def test_at_most_max_active_runs_run_at_once_and_the_rest_follow() -> None:
    running: set[UUID] = set()
    most = 0
    release, two = asyncio.Event(), asyncio.Event()
    done: list[UUID] = []

    async def run(evaluation_id: UUID) -> None:
        nonlocal most
        running.add(evaluation_id)
        most = max(most, len(running))
        if len(running) == 2:
            two.set()
        await release.wait()
        running.discard(evaluation_id)
        done.append(evaluation_id)

    scheduler = RunScheduler(run, max_active=2)
    ids = [uuid4() for _ in range(5)]
    for evaluation_id in ids:
        scheduler.submit(evaluation_id)
    scheduler.submit(ids[0])  # a second submission of the same run is ignored
    async with asyncio.timeout(5):
        await two.wait()
    for _ in range(50):  # let every task that could start do so: the three others wait
        await asyncio.sleep(0)
    assert (len(running), scheduler.active) == (2, 5)
    release.set()
    async with asyncio.timeout(5):
        await scheduler.wait_idle()
    assert most == 2 and sorted(done) == sorted(ids)
