"""Reservations and their per-budget holds."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

import asyncpg

from budget.adapters.pg import Conn
from budget.domain.thresholds import canonical

_COLUMNS = (
    "id, org_id, evaluation_id, project_id, user_id, estimated_cost, consumed_amount,"
    " held_amount, status, budget_ids, created_by, created_at, expires_at, ended_at,"
    " released_amount"
)


ReservationStatus = Literal["active", "settled", "expired"]


@dataclass(frozen=True)
class Reservation:
    """A hold of an evaluation's estimated cost against the budgets it falls under."""

    id: UUID
    org_id: str
    evaluation_id: UUID
    project_id: str
    user_id: str
    estimated_cost: Decimal
    consumed_amount: Decimal
    held_amount: Decimal
    status: ReservationStatus
    budget_ids: list[UUID]
    created_by: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    released_amount: Decimal | None


def _reservation(row: asyncpg.Record) -> Reservation:
    values = dict(row)
    for money in ("estimated_cost", "consumed_amount", "held_amount", "released_amount"):
        if values[money] is not None:
            values[money] = canonical(values[money])
    values["budget_ids"] = list(values["budget_ids"])
    return Reservation(**values)


@dataclass(frozen=True)
class Standings:
    """Usage and unexpired holds per budget, and the evaluation's active reservation."""

    usage: dict[UUID, Decimal]
    held: dict[UUID, Decimal]
    existing: UUID | None


async def standings(
    conn: Conn,
    keys: Sequence[tuple[UUID, datetime]],
    *,
    now: datetime,
    evaluation: tuple[str, UUID] | None = None,
) -> Standings:
    """One round trip: each (budget, period)'s usage and active holds (an expired hold
    counts for nothing, swept or not), and whether `evaluation` already holds one."""
    rows = await conn.fetch(
        "SELECT e.existing, k.budget_id, coalesce(p.usage_amount, 0) AS usage,"
        " coalesce(h.held, 0) AS held FROM (SELECT (SELECT r.id FROM reservations r"
        " WHERE r.org_id = $4 AND r.evaluation_id = $5 AND r.status = 'active') AS existing) e"
        " LEFT JOIN unnest($1::uuid[], $2::timestamptz[]) AS k(budget_id, period_start) ON true"
        " LEFT JOIN budget_periods p"
        " ON p.budget_id = k.budget_id AND p.period_start = k.period_start"
        " LEFT JOIN LATERAL (SELECT sum(held_amount) AS held FROM reservation_holds"
        " WHERE budget_id = k.budget_id AND expires_at > $3) h ON true",
        [k[0] for k in keys],
        [k[1] for k in keys],
        now,
        evaluation[0] if evaluation else None,
        evaluation[1] if evaluation else None,
    )
    found = [r for r in rows if r["budget_id"] is not None]
    return Standings(
        usage={r["budget_id"]: canonical(r["usage"]) for r in found},
        held={r["budget_id"]: canonical(r["held"]) for r in found},
        existing=rows[0]["existing"] if rows else None,
    )


async def active_for(
    conn: Conn, *, org_id: str, evaluation_id: UUID, for_update: bool = False
) -> Reservation | None:
    """The evaluation's active reservation, if any."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM reservations WHERE org_id = $1 AND evaluation_id = $2"
        f" AND status = 'active'{lock}",
        org_id,
        evaluation_id,
    )
    return _reservation(row) if row else None


async def insert(conn: Conn, r: Reservation) -> Reservation:
    """Store an active reservation and its hold on each budget (one statement)."""
    row = await conn.fetchrow(
        "WITH made AS (INSERT INTO reservations (id, org_id, evaluation_id, project_id, user_id,"
        " estimated_cost, held_amount, status, budget_ids, created_by, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $11)"
        f" RETURNING {_COLUMNS}), holds AS (INSERT INTO reservation_holds (budget_id,"
        " reservation_id, org_id, held_amount, expires_at)"
        " SELECT b, $1, $2, $7, $11 FROM unnest($8::uuid[]) AS b)"
        " SELECT * FROM made",
        r.id,
        r.org_id,
        r.evaluation_id,
        r.project_id,
        r.user_id,
        r.estimated_cost,
        r.held_amount,
        r.budget_ids,
        r.created_by,
        r.created_at,
        r.expires_at,
    )
    assert row is not None
    return _reservation(row)


async def get(
    conn: Conn, *, org_id: str, reservation_id: UUID, for_update: bool = False
) -> Reservation | None:
    """A reservation of the org, or None."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM reservations WHERE id = $1 AND org_id = $2{lock}",
        reservation_id,
        org_id,
    )
    return _reservation(row) if row else None


async def end(conn: Conn, reservation_id: UUID, status: ReservationStatus) -> Reservation:
    """Settle or expire: release what is still held and drop the holds."""
    row = await conn.fetchrow(
        "UPDATE reservations SET status = $2, released_amount = held_amount, held_amount = 0,"
        f" ended_at = now() WHERE id = $1 AND status = 'active' RETURNING {_COLUMNS}",
        reservation_id,
        status,
    )
    await conn.execute("DELETE FROM reservation_holds WHERE reservation_id = $1", reservation_id)
    assert row is not None
    return _reservation(row)


async def shrink(conn: Conn, spent: Sequence[tuple[str, UUID, Decimal]]) -> int:
    """Count arriving costs against their evaluations' active holds; how many changed.

    held = clamp(estimated - consumed, 0, estimated): order-independent, so a negative
    adjustment gives back exactly what its original took.
    """
    if not spent:
        return 0
    rows = await conn.fetch(
        "WITH spent AS (SELECT org_id, evaluation_id, sum(amount) AS amount FROM"
        " unnest($1::text[], $2::uuid[], $3::numeric[]) AS s(org_id, evaluation_id, amount)"
        " GROUP BY 1, 2), hit AS (SELECT r.id, s.amount FROM reservations r JOIN spent s"
        " ON r.org_id = s.org_id AND r.evaluation_id = s.evaluation_id"
        " WHERE r.status = 'active' ORDER BY r.id FOR UPDATE OF r)"
        " UPDATE reservations r SET consumed_amount = r.consumed_amount + hit.amount,"
        " held_amount = greatest(least(r.estimated_cost - r.consumed_amount - hit.amount,"
        " r.estimated_cost), 0) FROM hit WHERE r.id = hit.id RETURNING r.id, r.held_amount",
        [s[0] for s in spent],
        [s[1] for s in spent],
        [s[2] for s in spent],
    )
    if rows:
        await conn.execute(
            "UPDATE reservation_holds h SET held_amount = n.held FROM"
            " unnest($1::uuid[], $2::numeric[]) AS n(id, held) WHERE h.reservation_id = n.id",
            [r["id"] for r in rows],
            [r["held_amount"] for r in rows],
        )
    return len(rows)


async def expire_due(conn: Conn, now: datetime, limit: int = 1000) -> list[UUID]:
    """Mark active reservations past their expiry as expired and drop their holds."""
    rows = await conn.fetch(
        "WITH due AS (SELECT id FROM reservations WHERE status = 'active' AND expires_at <= $1"
        " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) UPDATE reservations r"
        " SET status = 'expired', released_amount = held_amount, held_amount = 0,"
        " ended_at = now() FROM due WHERE r.id = due.id RETURNING r.id",
        now,
        limit,
    )
    ids = [r["id"] for r in rows]
    if ids:
        await conn.execute(
            "DELETE FROM reservation_holds WHERE reservation_id = ANY($1::uuid[])", ids
        )
    return ids
