"""A load run's evaluations held to the provider: did every one of them complete, and is
every judge call the simulated provider served for them in the ledger exactly once, at
exactly the price genai-prices gives for the usage the provider counted?

The provider's count (`GET /_sim/served`, the evaluator names each call by its ids) is the
reference, not the evaluator's own records: a call paid for but never recorded shows up here
as lost. Used by `evaluator_load.py`.
"""

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
from rexctl.served import Reconciliation, ledger_costs_by_evaluation, read_served, reconcile

TERMINAL = ("completed", "failed", "cancelled")


async def run_states(dsn: str, since: datetime) -> dict[UUID, str]:
    """The status of each of the run's evaluations (queued, running, completed...)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id, status FROM evaluator.evaluations"
            " WHERE org_id LIKE 'bench-load-%' AND created_at >= $1",
            since,
        )
    finally:
        await conn.close()
    return {r["id"]: r["status"] for r in rows}


def tally(states: dict[UUID, str]) -> dict[str, int]:
    """How many evaluations are in each status."""
    counts: dict[str, int] = {}
    for status in states.values():
        counts[status] = counts.get(status, 0) + 1
    return counts


async def drain(dsn: str, since: datetime, wait_s: float) -> dict[UUID, str]:
    """The run's evaluations once all of them ended, or as they are after `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        states = await run_states(dsn, since)
        if all(s in TERMINAL for s in states.values()) or time.monotonic() > deadline:
            return states
        await asyncio.sleep(1)


@dataclass(frozen=True)
class RunCheck:
    """The run's evaluations against the provider's count."""

    evaluations: int
    completed: int
    matched: int  # completed, and the ledger holds exactly what the provider served for it
    overall: Reconciliation  # all of the run's calls at once
    faulted: int  # calls the provider answered with an injected fault (not billed)

    @property
    def ok(self) -> bool:
        return bool(self.evaluations) and self.matched == self.evaluations and self.overall.exact


async def check_run(
    dsn: str, ledger_schema: str, sim_url: str, states: dict[UUID, str], wait_s: float
) -> RunCheck:
    """Each evaluation's served calls against its ledger entries, waiting up to `wait_s` for
    the pipeline to bring the last of them into the ledger."""
    ids = list(states)
    deadline = time.monotonic() + wait_s
    while True:
        served = (await read_served(sim_url)).of(ids)
        ledger = await ledger_costs_by_evaluation(dsn, ids, ledger_schema)
        everything = {call: costs for calls in ledger.values() for call, costs in calls.items()}
        overall = reconcile(served, everything)
        if not overall.lost or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    matched = sum(
        1
        for e, status in states.items()
        if status == "completed" and reconcile(served.of([e]), ledger.get(e, {})).exact
    )
    completed = sum(1 for s in states.values() if s == "completed")
    return RunCheck(len(ids), completed, matched, overall, len(served.faulted))
