"""Read side of the cost API. Every query runs in a transaction scoped to the caller's org
(RLS) and filters by org explicitly as well; members pass their own user id."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

import asyncpg
from rex_shared.db import scope_to_org

from cost_ledger.domain.aggregates import COST_COLUMNS, TOKEN_FIELDS
from cost_ledger.domain.reports import CallFilter, Cursor, Window


@asynccontextmanager
async def scoped(pool: asyncpg.Pool, org_id: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a transaction that sees only `org_id`'s rows."""
    async with pool.acquire() as pooled, pooled.transaction():
        conn = cast(asyncpg.Connection, pooled)
        await scope_to_org(conn, org_id)
        yield conn


@dataclass(frozen=True)
class EvaluationCosts:
    """An evaluation's totals row and its per-metric rows (with latency histograms)."""

    totals: asyncpg.Record
    metrics: list[asyncpg.Record]


async def evaluation_costs(
    pool: asyncpg.Pool, *, evaluation_id: UUID, org_id: str, user_id: str | None
) -> EvaluationCosts | None:
    """The evaluation's costs, or None when unknown, another org's, or (members) not theirs."""
    async with scoped(pool, org_id) as conn:
        totals = await conn.fetchrow(
            "SELECT * FROM evaluation_costs WHERE evaluation_id = $1 AND org_id = $2"
            " AND ($3::text IS NULL OR user_id = $3)",
            evaluation_id, org_id, user_id,
        )  # fmt: skip
        if totals is None:
            return None
        metrics = await conn.fetch(
            "SELECT * FROM evaluation_metric_costs WHERE evaluation_id = $1 AND org_id = $2"
            " ORDER BY metric",
            evaluation_id, org_id,
        )  # fmt: skip
    return EvaluationCosts(totals, list(metrics))


GROUPS = {"provider": "provider", "model": "model", "metric": "metric",
          "project": "project_id", "user": "user_id"}  # fmt: skip
# sum(bigint) is numeric in PostgreSQL: counts come back as integers, costs as exact numerics.
_SUMS = ", ".join(
    [f"sum({c})::int8 AS {c}" for c in ("calls", "failed_calls", "unpriced_calls", *TOKEN_FIELDS)]
    + [f"sum({c}) AS {c}" for c in COST_COLUMNS]
)


_FILTERS = (
    " FROM daily_costs WHERE org_id = $1 AND day >= $2 AND day < $3"
    " AND ($4::text IS NULL OR user_id = $4) AND ($5::text IS NULL OR project_id = $5)"
    " AND ($6::text IS NULL OR provider = $6) AND ($7::text IS NULL OR model = $7)"
    " AND ($8::text IS NULL OR metric = $8)"
)


def _args(w: Window) -> tuple[object, ...]:
    return (w.org_id, w.start, w.end, w.user_id, w.project_id, w.provider, w.model, w.metric)


async def rollup(
    pool: asyncpg.Pool, window: Window, *, group_by: str | None, bucket: str
) -> list[asyncpg.Record]:
    """Sums of the daily rollups per (group key, time bucket): one index range scan."""
    key = GROUPS[group_by] if group_by else "NULL::text"
    sql = (
        f"SELECT {key} AS key, date_trunc('{bucket}', day)::date AS bucket, {_SUMS}"
        f"{_FILTERS} GROUP BY 1, 2 ORDER BY 2, 1"
    )
    async with scoped(pool, window.org_id) as conn:
        return list(await conn.fetch(sql, *_args(window)))


async def summary(
    pool: asyncpg.Pool, window: Window, *, group_by: str | None, bucket: str
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """(per group key, per time bucket) sums in one scan of the rollups (GROUPING SETS)."""
    when = f"date_trunc('{bucket}', day)::date"
    if group_by is None:
        sql = f"SELECT {when} AS bucket, {_SUMS}{_FILTERS} GROUP BY 1 ORDER BY 1"
        async with scoped(pool, window.org_id) as conn:
            return [], list(await conn.fetch(sql, *_args(window)))
    key = GROUPS[group_by]
    sql = (
        f"SELECT {key} AS key, {when} AS bucket, GROUPING({key}, {when}) AS part, {_SUMS}"
        f"{_FILTERS} GROUP BY GROUPING SETS (({key}), ({when})) ORDER BY 3, 2, 1"
    )
    async with scoped(pool, window.org_id) as conn:
        rows = await conn.fetch(sql, *_args(window))
    # GROUPING() sets a bit for each expression NOT grouped: 1 = per key, 2 = per bucket.
    return [r for r in rows if r["part"] == 1], [r for r in rows if r["part"] == 2]


_CALLS = (
    "SELECT * FROM ledger_entries WHERE org_id = $1"
    " AND ($2::text IS NULL OR user_id = $2) AND ($3::text IS NULL OR project_id = $3)"
    " AND ($4::uuid IS NULL OR evaluation_id = $4) AND ($5::text IS NULL OR provider = $5)"
    " AND ($6::text IS NULL OR model = $6) AND ($7::text IS NULL OR metric = $7)"
    " AND ($8::text IS NULL OR status = $8) AND ($9::text IS NULL OR entry_kind = $9)"
    " AND ($10::timestamptz IS NULL OR occurred_at >= $10)"
    " AND ($11::timestamptz IS NULL OR occurred_at < $11)"
    " AND ($12::timestamptz IS NULL OR (occurred_at, call_id, seq) < ($12, $13::uuid, $14::int))"
    " ORDER BY occurred_at DESC, call_id DESC, seq DESC LIMIT $15"
)


async def calls(
    pool: asyncpg.Pool, f: CallFilter, *, after: Cursor | None, limit: int
) -> list[asyncpg.Record]:
    """Ledger rows newest first, `limit` of them after the cursor."""
    position: tuple[Any, Any, Any] = after or (None, None, None)
    async with scoped(pool, f.org_id) as conn:
        return list(await conn.fetch(
            _CALLS, f.org_id, f.user_id, f.project_id, f.evaluation_id, f.provider, f.model,
            f.metric, f.status, f.entry_kind, f.start, f.end, *position, limit,
        ))  # fmt: skip


class PgCostReports:
    """The CostReports port on a pool: each read in its own org-scoped transaction."""

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool  # a getter: the pool opens after wiring

    async def evaluation_costs(
        self, *, evaluation_id: UUID, org_id: str, user_id: str | None
    ) -> EvaluationCosts | None:
        return await evaluation_costs(
            self._pool(), evaluation_id=evaluation_id, org_id=org_id, user_id=user_id
        )

    async def summary(
        self, window: Window, *, group_by: str | None, bucket: str
    ) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
        return await summary(self._pool(), window, group_by=group_by, bucket=bucket)

    async def rollup(
        self, window: Window, *, group_by: str | None, bucket: str
    ) -> list[asyncpg.Record]:
        return await rollup(self._pool(), window, group_by=group_by, bucket=bucket)

    async def calls(
        self, f: CallFilter, *, after: Cursor | None, limit: int
    ) -> list[asyncpg.Record]:
        return await calls(self._pool(), f, after=after, limit=limit)
