"""Additive upserts of the evaluation and evaluation-metric totals (one statement per table)."""

from typing import Any
from uuid import UUID

import asyncpg

from cost_ledger.adapters.sql import columns, unnest_select
from cost_ledger.domain.aggregates import COST_FIELDS, TOKEN_FIELDS, Totals

_COUNTS = ("calls", "failed_calls", "unpriced_calls", "latency_ms_sum", *TOKEN_FIELDS)
_COSTS = tuple("total_cost" if c == "total" else f"cost_{c}" for c in COST_FIELDS)
_SUMMED = (*_COUNTS, *_COSTS)


def _upsert_sql(table: str, keys: tuple[tuple[str, str], ...], conflict: str) -> str:
    cols = (*keys, *((c, "int8") for c in _COUNTS), *((c, "numeric") for c in _COSTS),
            ("first_call_at", "timestamptz"), ("last_call_at", "timestamptz"))  # fmt: skip
    names = ", ".join(c for c, _ in cols)
    sums = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in _SUMMED)
    return (
        f"INSERT INTO {table} ({names}) {unnest_select(cols)}"
        f" ON CONFLICT ({conflict}) DO UPDATE SET {sums},"
        f" first_call_at = LEAST({table}.first_call_at, EXCLUDED.first_call_at),"
        f" last_call_at = GREATEST({table}.last_call_at, EXCLUDED.last_call_at)"
        # An id reused by another org must never move money into someone else's totals.
        f" WHERE {table}.org_id = EXCLUDED.org_id"
    )


_EVALUATIONS = _upsert_sql(
    "evaluation_costs",
    (("evaluation_id", "uuid"), ("org_id", "text"), ("project_id", "text"), ("user_id", "text")),
    "evaluation_id",
)
_METRICS = _upsert_sql(
    "evaluation_metric_costs",
    (("evaluation_id", "uuid"), ("metric", "text"), ("org_id", "text")),
    "evaluation_id, metric",
)


def _values(t: Totals) -> list[Any]:
    return [
        t.calls, t.failed_calls, t.unpriced_calls, t.latency_ms,
        *(t.tokens[k] for k in TOKEN_FIELDS), *(t.costs[k] for k in COST_FIELDS),
        t.first_call_at, t.last_call_at,
    ]  # fmt: skip


async def upsert_evaluations(conn: asyncpg.Connection, totals: dict[UUID, Totals]) -> None:
    """Add per-evaluation totals; keys sorted so concurrent batches lock rows in one order."""
    if not totals:
        return
    rows = [[k, t.org_id, t.project_id, t.user_id, *_values(t)] for k, t in sorted(totals.items())]
    await conn.execute(_EVALUATIONS, *columns(rows, 0))


async def upsert_metrics(conn: asyncpg.Connection, totals: dict[tuple[UUID, str], Totals]) -> None:
    """Add per-(evaluation, metric) totals."""
    if not totals:
        return
    rows = [[e, m, t.org_id, *_values(t)] for (e, m), t in sorted(totals.items())]
    await conn.execute(_METRICS, *columns(rows, 0))
