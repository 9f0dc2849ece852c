"""Read side of the cost API: aggregate rows, always filtered by the caller's org."""

from dataclasses import dataclass
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class EvaluationCosts:
    """An evaluation's totals row and its per-metric rows."""

    totals: asyncpg.Record
    metrics: list[asyncpg.Record]


async def evaluation_costs(
    pool: asyncpg.Pool, *, evaluation_id: UUID, org_id: str
) -> EvaluationCosts | None:
    """The evaluation's costs, or None when it is unknown or belongs to another org."""
    async with pool.acquire() as conn:
        totals = await conn.fetchrow(
            "SELECT * FROM evaluation_costs WHERE evaluation_id = $1 AND org_id = $2",
            evaluation_id,
            org_id,
        )
        if totals is None:
            return None
        metrics = await conn.fetch(
            "SELECT * FROM evaluation_metric_costs WHERE evaluation_id = $1 AND org_id = $2"
            " ORDER BY metric",
            evaluation_id,
            org_id,
        )
    return EvaluationCosts(totals, list(metrics))
