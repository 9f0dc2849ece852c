"""The provider's side of "nothing lost": what the simulated provider served, call by call
(`GET /_sim/served`), and the ledger held to it.

The evaluator names each judge call to the provider (`X-Rex-Call-Id`,
`X-Rex-Evaluation-Id`), so every billable call the simulator answered must be in the ledger
exactly once, at exactly the independent price (`rexctl.oracle`) of the usage the simulator
itself counted. "Lost": served and billable, but absent from the ledger; "duplicated": a call
billed twice under one id, or in the ledger more than once.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from rex_shared.events import Usage

from rexctl.oracle import independent_cost

_USAGE = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)


@dataclass(frozen=True)
class ServedCall:
    """One request the provider answered: billable (with usage) or with an injected fault."""

    call_id: UUID | None
    evaluation_id: UUID | None
    provider: str
    model: str
    status: int
    usage: Usage
    answered_at: datetime
    streamed: bool = False

    @property
    def billable(self) -> bool:
        return self.status == 200

    @property
    def cost(self) -> Decimal:
        """What the provider bills for it, priced independently of REX."""
        if not self.billable:
            return Decimal(0)
        return independent_cost(self.provider, self.model, self.usage, self.answered_at)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "ServedCall":
        return cls(
            call_id=_uuid(body.get("call_id")),
            evaluation_id=_uuid(body.get("evaluation_id")),
            provider=str(body["provider"]),
            model=str(body["model"]),
            status=int(body["status"]),
            usage=Usage(**{name: int(body[name]) for name in _USAGE}),
            answered_at=datetime.fromisoformat(str(body["answered_at"])),
            streamed=bool(body.get("streamed")),
        )


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value)) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Served:
    """Every call the provider answered (`dropped` > 0: it did not keep them all)."""

    calls: tuple[ServedCall, ...]
    dropped: int = 0

    @property
    def billable(self) -> tuple[ServedCall, ...]:
        return tuple(c for c in self.calls if c.billable)

    @property
    def faulted(self) -> tuple[ServedCall, ...]:
        return tuple(c for c in self.calls if not c.billable)

    def of(self, evaluation_ids: Iterable[UUID | str]) -> "Served":
        """Only the calls of these evaluations."""
        wanted = {UUID(str(e)) for e in evaluation_ids}
        return Served(tuple(c for c in self.calls if c.evaluation_id in wanted), self.dropped)


async def read_served(sim_url: str, evaluation_id: UUID | str | None = None) -> Served:
    """What the simulator at `sim_url` served (all of it, or one evaluation's)."""
    params = {"evaluation_id": str(evaluation_id)} if evaluation_id is not None else {}
    async with httpx.AsyncClient(base_url=sim_url, timeout=30) as client:
        reply = await client.get("/_sim/served", params=params)
    reply.raise_for_status()
    body = reply.json()
    calls = tuple(ServedCall.from_json(c) for c in body["calls"])
    return Served(calls, int(body.get("dropped", 0)))


async def ledger_costs_by_evaluation(
    dsn: str, evaluation_ids: Iterable[UUID | str], schema: str = "ledger"
) -> dict[UUID, dict[UUID, list[Decimal]]]:
    """The ledger's entries of these evaluations: evaluation id -> call id -> the cost of each
    of the call's rows."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            f"SELECT evaluation_id, call_id, total_cost FROM {schema}.ledger_entries"
            " WHERE evaluation_id = ANY($1::uuid[])",
            [UUID(str(e)) for e in evaluation_ids],
        )
    finally:
        await conn.close()
    costs: dict[UUID, dict[UUID, list[Decimal]]] = {}
    for row in rows:
        calls = costs.setdefault(row["evaluation_id"], {})
        calls.setdefault(row["call_id"], []).append(Decimal(row["total_cost"]))
    return costs


async def ledger_costs(
    dsn: str, evaluation_ids: Iterable[UUID | str], schema: str = "ledger"
) -> dict[UUID, list[Decimal]]:
    """The ledger's entries of these evaluations: call id -> the cost of each of its rows."""
    by_evaluation = await ledger_costs_by_evaluation(dsn, evaluation_ids, schema)
    costs: dict[UUID, list[Decimal]] = {}
    for calls in by_evaluation.values():
        for call_id, rows in calls.items():
            costs.setdefault(call_id, []).extend(rows)
    return costs


@dataclass(frozen=True)
class Reconciliation:
    """The ledger held to the provider's count of billable calls."""

    served: int  # billable calls the provider answered
    lost: tuple[ServedCall, ...]  # served, not in the ledger
    duplicated: int  # billed twice under one call id, or extra ledger rows for one call
    inexact: tuple[ServedCall, ...]  # in the ledger at another cost than the served usage's
    unserved: int  # ledger entries with a cost that the provider never billed
    dropped: int = 0  # calls the provider did not keep: the count is incomplete

    def split_lost(
        self, crash: datetime | None, window_s: float
    ) -> tuple[tuple[ServedCall, ...], tuple[ServedCall, ...]]:
        """(lost, cut off): the lost calls answered within `window_s` of a crash of the caller
        at `crash` apart. Those were paid for but the caller died before it could record them
        (no fault of the pipeline, but money a real provider bills): report them, apart."""
        if crash is None:
            return self.lost, ()
        near = [abs((c.answered_at - crash).total_seconds()) <= window_s for c in self.lost]
        return (
            tuple(c for c, n in zip(self.lost, near, strict=True) if not n),
            tuple(c for c, n in zip(self.lost, near, strict=True) if n),
        )

    @property
    def exact(self) -> bool:
        """Every billable call in the ledger once, at its exact cost, and nothing else."""
        return not (self.lost or self.duplicated or self.inexact or self.unserved or self.dropped)


def reconcile(served: Served, ledger: Mapping[UUID, Sequence[Decimal]]) -> Reconciliation:
    """Call by call: each billable call once in the ledger at the independent price."""
    seen: set[UUID | None] = set()
    lost: list[ServedCall] = []
    inexact: list[ServedCall] = []
    duplicated = 0
    for call in served.billable:
        if call.call_id is None:  # unnamed: nothing in the ledger can be it
            lost.append(call)
            continue
        if call.call_id in seen:  # billed again under an id already counted
            duplicated += 1
            continue
        seen.add(call.call_id)
        costs = ledger.get(call.call_id, [])
        if not costs:
            lost.append(call)
            continue
        duplicated += len(costs) - 1
        if any(cost != call.cost for cost in costs):
            inexact.append(call)
    unserved = sum(1 for k, costs in ledger.items() if k not in seen and any(costs))
    return Reconciliation(
        len(served.billable), tuple(lost), duplicated, tuple(inexact), unserved, served.dropped
    )
