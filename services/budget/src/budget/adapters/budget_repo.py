"""The budgets table: parameterized SQL, rows mapped to the domain's Budget."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from budget.adapters.pg import Conn, Db
from budget.domain.model import BUDGET_TYPES, Budget, Payer
from budget.domain.thresholds import canonical

_COLUMNS = (
    "id, org_id, name, type, entity_id, limit_amount, period, timezone, thresholds,"
    " is_hard_limit, filters, created_at, updated_at, archived_at, threshold_amounts"
)


def own_only(param: str) -> str:
    """SQL: a member (the text parameter `param`, NULL for everyone else) sees only the user
    budgets that name them (rex_shared.auth.sees_only_own)."""
    return f"({param}::text IS NULL OR (type = 'user' AND entity_id = {param}))"


Cursor = tuple[datetime, UUID]


def to_budget(row: asyncpg.Record) -> Budget:
    """A budgets row as a Budget (amounts without NUMERIC's trailing zeros)."""
    filters = row["filters"]
    return Budget(
        id=row["id"],
        org_id=row["org_id"],
        name=row["name"],
        type=row["type"],
        entity_id=row["entity_id"],
        limit_amount=canonical(row["limit_amount"]),
        period=row["period"],
        timezone=row["timezone"],
        thresholds=tuple(canonical(t) for t in row["thresholds"]),
        is_hard_limit=row["is_hard_limit"],
        filters=json.loads(filters) if filters is not None else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        archived_at=row["archived_at"],
        threshold_amounts=tuple(canonical(a) for a in row["threshold_amounts"]),
    )


def _changeable(budget: Budget) -> tuple[Any, ...]:
    """The fields an update may change, in the order insert and update bind them."""
    filters = json.dumps(budget.filters) if budget.filters is not None else None
    return (
        budget.name,
        budget.limit_amount,
        budget.period,
        budget.timezone,
        list(budget.thresholds),
        budget.is_hard_limit,
        filters,
        list(budget.threshold_amounts),
    )


async def insert(conn: Conn, budget: Budget) -> Budget:
    """Store a new budget and return it as stored."""
    row = await conn.fetchrow(
        "INSERT INTO budgets (id, org_id, type, entity_id, name, limit_amount, period, timezone,"
        " thresholds, is_hard_limit, filters, threshold_amounts) VALUES ($1, $2, $3, $4, $5, $6,"
        f" $7, $8, $9, $10, $11::jsonb, $12) RETURNING {_COLUMNS}",
        budget.id,
        budget.org_id,
        budget.type,
        budget.entity_id,
        *_changeable(budget),
    )
    assert row is not None
    return to_budget(row)


async def get(
    conn: Conn,
    *,
    org_id: str,
    budget_id: UUID,
    own: str | None = None,
    for_update: bool = False,
) -> Budget | None:
    """The org's budget `budget_id` (archived ones too), or None; `own` narrows to a member's."""
    # NO KEY UPDATE, not UPDATE: the consumer's foreign-key checks (KEY SHARE) on this row
    # keep flowing while an edit is in progress.
    lock = " FOR NO KEY UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM budgets WHERE id = $1 AND org_id = $2 AND {own_only('$3')}{lock}",
        budget_id,
        org_id,
        own,
    )
    return to_budget(row) if row else None


async def by_ids(conn: Conn, ids: Sequence[UUID]) -> dict[UUID, Budget]:
    """Budgets by id as committed right now (the consumer re-reads them under its row locks)."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM budgets WHERE id = ANY($1::uuid[])", ids)
    return {r["id"]: to_budget(r) for r in rows}


async def update(conn: Conn, budget: Budget) -> Budget:
    """Write a budget's changeable fields; type and entity never change."""
    row = await conn.fetchrow(
        "UPDATE budgets SET name = $3, limit_amount = $4, period = $5, timezone = $6,"
        " thresholds = $7, is_hard_limit = $8, filters = $9::jsonb, threshold_amounts = $10,"
        f" updated_at = now() WHERE id = $1 AND org_id = $2 RETURNING {_COLUMNS}",
        budget.id,
        budget.org_id,
        *_changeable(budget),
    )
    assert row is not None
    return to_budget(row)


async def archive(conn: Conn, *, org_id: str, budget_id: UUID) -> Budget | None:
    """Archive a budget (idempotent); its periods and alerts stay."""
    row = await conn.fetchrow(
        "UPDATE budgets SET archived_at = coalesce(archived_at, now()),"
        " updated_at = CASE WHEN archived_at IS NULL THEN now() ELSE updated_at END"
        f" WHERE id = $1 AND org_id = $2 RETURNING {_COLUMNS}",
        budget_id,
        org_id,
    )
    return to_budget(row) if row else None


async def page(
    conn: Conn,
    *,
    org_id: str,
    type: str | None,
    entity_id: str | None,
    include_archived: bool,
    limit: int,
    after: Cursor | None,
    own: str | None = None,
) -> list[Budget]:
    """The org's budgets, newest first, after the keyset cursor `after`."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM budgets WHERE org_id = $1"
        " AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR entity_id = $3)"
        " AND ($4 OR archived_at IS NULL)"
        " AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))"
        f" AND {own_only('$8')}"
        " ORDER BY created_at DESC, id DESC LIMIT $7",
        org_id,
        type,
        entity_id,
        include_archived,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        own,
    )
    return [to_budget(r) for r in rows]


_COVERING = (
    "FROM budgets b JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(org_id, type, entity_id)"
    " ON b.org_id = k.org_id AND b.type = k.type AND b.entity_id = k.entity_id"
)


def _payer_keys(payers: Sequence[Payer]) -> list[list[str]]:
    keys = {(p.org_id, t, p.entity(t)) for p in payers for t in BUDGET_TYPES}
    return [list(col) for col in zip(*sorted(keys), strict=True)] if keys else [[], [], []]


async def covering(conn: Conn, payers: Sequence[Payer]) -> list[Budget]:
    """Active budgets naming any of the payers' org, project or user (filters not applied)."""
    rows = await conn.fetch(
        f"SELECT {prefixed('b')} {_COVERING} WHERE b.archived_at IS NULL ORDER BY b.id",
        *_payer_keys(payers),
    )
    return [to_budget(r) for r in rows]


async def covering_now(db: Db, payer: Payer, now: datetime) -> list[asyncpg.Record]:
    """In one statement (the SQL function `preflight_standings`, which scopes itself to the
    payer's org): the payer's active budgets, each with its latest period row that started by
    `now` (p_start, p_end, p_usage) and its unexpired holds (held). Reads only."""
    return await db.fetch(
        "SELECT * FROM preflight_standings($1, $2, $3, $4)",
        payer.org_id,
        payer.project_id,
        payer.user_id,
        now,
    )


async def payer_budgets(db: Db, payer: Payer) -> list[Budget]:
    """The payer's active budgets (org, project, user), by id, in one statement scoped to the
    payer's org (the SQL function `payer_budgets`)."""
    rows = await db.fetch(
        "SELECT * FROM payer_budgets($1, $2, $3)", payer.org_id, payer.project_id, payer.user_id
    )
    return [to_budget(r) for r in rows]


def prefixed(alias: str) -> str:
    """The budget columns qualified by a table alias (for joins)."""
    return ", ".join(f"{alias}.{c.strip()}" for c in _COLUMNS.split(","))
