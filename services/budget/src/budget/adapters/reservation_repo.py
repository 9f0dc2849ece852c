"""Reservations and their per-budget holds."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

import asyncpg

from budget.adapters.pg import Conn, Db
from budget.domain.thresholds import canonical
from budget.ports import ReservationExists

_COLUMNS = (
    "id, org_id, evaluation_id, project_id, user_id, estimated_cost, consumed_amount,"
    " held_amount, status, budget_ids, created_by, created_at, expires_at, ended_at,"
    " released_amount"
)


_FIELDS = [c.strip() for c in _COLUMNS.split(",")]


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


def _reservation(row: asyncpg.Record | dict[str, object]) -> Reservation:
    values = dict(row)
    for money in ("estimated_cost", "consumed_amount", "held_amount", "released_amount"):
        if values[money] is not None:
            values[money] = canonical(values[money])
    values["budget_ids"] = list(values["budget_ids"])
    return Reservation(**values)


ReserveOutcome = Literal["created", "existing", "exceeded"]


@dataclass(frozen=True)
class Hold:
    """What to hold: a new reservation's fields and the budgets' periods and limits."""

    reservation: Reservation
    period_starts: list[datetime]
    period_ends: list[datetime]
    limits: list[Decimal]
    hard: list[bool]


@dataclass(frozen=True)
class Held:
    """What `reserve` did, with each budget's usage and unexpired holds before this one."""

    outcome: ReserveOutcome
    usage: list[Decimal]
    held: list[Decimal]
    reservation: Reservation | None


async def reserve(db: Db, hold: Hold, *, now: datetime) -> Held:
    """Hold the estimate against every budget (in `hold.reservation.budget_ids` order)
    atomically, in one statement (the SQL function `preflight_reserve`): the periods locked
    in lock order, the evaluation's live reservation returned if it has one, refused
    ('exceeded', nothing written) when usage + holds + estimate would pass a hard limit."""
    r = hold.reservation
    try:
        row = await db.fetchrow(
            "SELECT * FROM preflight_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
            " $13, $14)",
            r.org_id,
            r.evaluation_id,
            now,
            r.estimated_cost,
            r.budget_ids,
            hold.period_starts,
            hold.period_ends,
            hold.limits,
            hold.hard,
            r.id,
            r.project_id,
            r.user_id,
            r.created_by,
            r.expires_at,
        )
    except asyncpg.UniqueViolationError as exc:  # raced by the same evaluation (no budgets)
        raise ReservationExists(str(r.evaluation_id)) from exc
    assert row is not None
    stored = _reservation({c: row[c] for c in _FIELDS}) if row["id"] is not None else None
    return Held(
        outcome=row["outcome"],
        usage=[canonical(u) for u in row["usages"]],
        held=[canonical(h) for h in row["helds"]],
        reservation=stored,
    )


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
    await _drop_holds(conn, [reservation_id])
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
        # The holds' rows are changed only under their reservation's row lock (taken above),
        # so `old` reads what this statement replaces.
        await conn.execute(
            "WITH n AS (SELECT * FROM unnest($1::uuid[], $2::numeric[]) AS n(id, held)),"
            " old AS (SELECT h.budget_id, h.org_id, n.held - h.held_amount AS delta"
            " FROM reservation_holds h JOIN n ON h.reservation_id = n.id),"
            " changed AS (UPDATE reservation_holds h SET held_amount = n.held FROM n"
            " WHERE h.reservation_id = n.id)"
            " INSERT INTO budget_holds (budget_id, org_id, held_amount)"
            " SELECT budget_id, min(org_id), sum(delta) FROM old"
            " GROUP BY budget_id ORDER BY budget_id ON CONFLICT (budget_id)"
            " DO UPDATE SET held_amount = budget_holds.held_amount + EXCLUDED.held_amount",
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
        await _drop_holds(conn, ids)
    return ids


# Every change to reservation_holds moves budget_holds (the per-budget totals) in the same
# statement, through add_to_hold_totals: rows in budget order, the last lock the transaction
# takes (migrations/budget/0004_hold_totals.sql).


async def _drop_holds(conn: Conn, reservation_ids: Sequence[UUID]) -> None:
    """Delete the reservations' holds and take them off their budgets' totals."""
    await conn.execute(
        "WITH gone AS (DELETE FROM reservation_holds WHERE reservation_id = ANY($1::uuid[])"
        " RETURNING budget_id, org_id, held_amount)"
        " INSERT INTO budget_holds (budget_id, org_id, held_amount)"
        " SELECT budget_id, min(org_id), -sum(held_amount) FROM gone"
        " GROUP BY budget_id ORDER BY budget_id ON CONFLICT (budget_id)"
        " DO UPDATE SET held_amount = budget_holds.held_amount + EXCLUDED.held_amount",
        list(reservation_ids),
    )
