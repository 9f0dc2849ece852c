"""The budget_periods table: usage per (budget, period), row locks, and closing periods."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from budget.adapters import budget_repo
from budget.adapters.pg import Conn
from budget.domain.closures import Closure
from budget.domain.model import Budget
from budget.domain.periods import PeriodBounds
from budget.domain.thresholds import canonical
from budget.domain.usage import Charge

PeriodKey = tuple[UUID, datetime]


@dataclass(frozen=True)
class PeriodUsage:
    """A stored period row."""

    period: PeriodBounds
    usage_amount: Decimal
    events: int


async def add_usage(conn: Conn, charges: Sequence[Charge]) -> dict[PeriodKey, Decimal]:
    """Add each charge to its period row (created on first use); the new totals by key."""
    # One statement, rows taken in (budget, period start) order: the lock order every writer
    # follows. RETURNING gives each total including exactly this charge, under the row lock.
    rows = await conn.fetch(
        "INSERT INTO budget_periods (org_id, budget_id, period_start, period_end, usage_amount,"
        " events) SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[],"
        " $4::timestamptz[], $5::numeric[], $6::int[]) ORDER BY 2, 3"
        " ON CONFLICT (budget_id, period_start) DO UPDATE SET"
        " usage_amount = budget_periods.usage_amount + EXCLUDED.usage_amount,"
        " events = budget_periods.events + EXCLUDED.events, updated_at = now()"
        " RETURNING budget_id, period_start, usage_amount",
        [c.budget.org_id for c in charges],
        [c.budget.id for c in charges],
        [c.period.start for c in charges],
        [c.period.end for c in charges],
        [c.amount for c in charges],
        [c.events for c in charges],
    )
    return {(r["budget_id"], r["period_start"]): canonical(r["usage_amount"]) for r in rows}


async def lock(conn: Conn, keys: Sequence[tuple[Budget, PeriodBounds]]) -> None:
    """Create (if missing) and lock the period rows, in lock order, in one statement."""
    ordered = sorted(keys, key=lambda k: (k[0].id, k[1].start))
    # ON CONFLICT DO UPDATE locks every conflicting row even when its WHERE is false, so this
    # takes all the locks in (budget, period start) order and writes nothing that exists.
    await conn.execute(
        "INSERT INTO budget_periods (org_id, budget_id, period_start, period_end)"
        " SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::timestamptz[])"
        " ORDER BY 2, 3 ON CONFLICT (budget_id, period_start)"
        " DO UPDATE SET usage_amount = budget_periods.usage_amount WHERE false",
        [b.org_id for b, _ in ordered],
        [b.id for b, _ in ordered],
        [p.start for _, p in ordered],
        [p.end for _, p in ordered],
    )


async def usage_at(conn: Conn, keys: Sequence[tuple[UUID, datetime]]) -> dict[UUID, Decimal]:
    """Usage of the given periods by budget id, without locking (absent rows: no entry)."""
    rows = await conn.fetch(
        "SELECT budget_id, usage_amount FROM budget_periods"
        " WHERE (budget_id, period_start) IN (SELECT * FROM unnest($1::uuid[], $2::timestamptz[]))",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {r["budget_id"]: canonical(r["usage_amount"]) for r in rows}


async def period_usage(conn: Conn, budget_id: UUID, start: datetime) -> PeriodUsage | None:
    """The period row starting at `start`, if any usage was counted in it."""
    row = await conn.fetchrow(
        "SELECT period_start, period_end, usage_amount, events FROM budget_periods"
        " WHERE budget_id = $1 AND period_start = $2",
        budget_id,
        start,
    )
    return _period(row) if row else None


async def periods(
    conn: Conn, budget_id: UUID, *, limit: int, before: datetime | None
) -> list[PeriodUsage]:
    """Stored periods of a budget, newest first, starting before `before`."""
    rows = await conn.fetch(
        "SELECT period_start, period_end, usage_amount, events FROM budget_periods"
        " WHERE budget_id = $1 AND ($2::timestamptz IS NULL OR period_start < $2)"
        " ORDER BY period_start DESC LIMIT $3",
        budget_id,
        before,
        limit,
    )
    return [_period(r) for r in rows]


def _period(row: asyncpg.Record) -> PeriodUsage:
    return PeriodUsage(
        PeriodBounds(row["period_start"], row["period_end"]),
        canonical(row["usage_amount"]),
        row["events"],
    )


# Closing: candidate rows are taken with SKIP LOCKED, so a closer never waits for (and never
# deadlocks with) a writer holding a period row; a skipped period is closed the next time.
# `closed_at` on the row and the period_closures primary key both make it happen once.
_CLOSE = """
WITH due AS (
    SELECT budget_id, period_start FROM budget_periods
    WHERE closed_at IS NULL AND {cond}
    ORDER BY budget_id, period_start LIMIT $1 FOR UPDATE SKIP LOCKED
), closed AS (
    UPDATE budget_periods p SET closed_at = now() FROM due
    WHERE p.budget_id = due.budget_id AND p.period_start = due.period_start
    RETURNING p.*
), recorded AS (
    INSERT INTO period_closures (budget_id, period_start, org_id, period_end, usage_amount,
                                 events, alerts, closed_at)
    SELECT c.budget_id, c.period_start, c.org_id, c.period_end, c.usage_amount, c.events,
           (SELECT count(*) FROM cost_alerts a WHERE a.budget_id = c.budget_id
              AND a.period_start = c.period_start AND a.kind = 'actual'),
           c.closed_at
    FROM closed c
    ON CONFLICT DO NOTHING
    RETURNING *
)
SELECT r.period_start AS closed_period_start, r.period_end AS closed_period_end,
       r.usage_amount AS closed_usage, r.events AS closed_events, r.alerts AS closed_alerts,
       r.closed_at AS closed_closed_at, {budget}
FROM recorded r JOIN budgets b ON b.id = r.budget_id
"""
_BUDGET = budget_repo.prefixed("b")


async def close_ended(conn: Conn, *, ended_by: datetime, limit: int = 500) -> list[Closure]:
    """Close periods that ended by `ended_by` (the sweep: quiet budgets close too)."""
    sql = _CLOSE.format(cond="period_end <= $2", budget=_BUDGET)
    return [_closure(r) for r in await conn.fetch(sql, limit, ended_by)]


async def close_before(conn: Conn, cutoffs: Mapping[UUID, datetime]) -> list[Closure]:
    """Close each budget's periods ending by its cutoff (the first event of a new period)."""
    cond = (
        "(budget_id, period_end) IN (SELECT p.budget_id, p.period_end FROM budget_periods p"
        " JOIN unnest($2::uuid[], $3::timestamptz[]) AS c(budget_id, cutoff)"
        " ON p.budget_id = c.budget_id WHERE p.closed_at IS NULL AND p.period_end <= c.cutoff)"
    )
    sql = _CLOSE.format(cond=cond, budget=_BUDGET)
    ids = sorted(cutoffs)
    rows = await conn.fetch(sql, 500, ids, [cutoffs[i] for i in ids])
    return [_closure(r) for r in rows]


def _closure(row: asyncpg.Record) -> Closure:
    return Closure(
        budget=budget_repo.to_budget(row),
        period=PeriodBounds(row["closed_period_start"], row["closed_period_end"]),
        usage_amount=canonical(row["closed_usage"]),
        events=row["closed_events"],
        alerts=row["closed_alerts"],
        closed_at=row["closed_closed_at"],
    )
