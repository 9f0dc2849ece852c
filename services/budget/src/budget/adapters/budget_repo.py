"""The budgets table: parameterized SQL, rows mapped to the domain's Budget."""

import json
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from budget.adapters.pg import Conn
from budget.domain.model import BUDGET_TYPES, Budget, Payer
from budget.domain.thresholds import canonical

_COLUMNS = (
    "id, org_id, name, type, entity_id, limit_amount, period, timezone, thresholds,"
    " is_hard_limit, filters, created_at, updated_at, archived_at"
)
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
    )


def _filters_json(budget: Budget) -> str | None:
    return json.dumps(budget.filters) if budget.filters is not None else None


async def insert(conn: Conn, budget: Budget) -> Budget:
    """Store a new budget and return it as stored."""
    row = await conn.fetchrow(
        "INSERT INTO budgets (id, org_id, name, type, entity_id, limit_amount, period, timezone,"
        " thresholds, is_hard_limit, filters) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
        f" $11::jsonb) RETURNING {_COLUMNS}",
        budget.id,
        budget.org_id,
        budget.name,
        budget.type,
        budget.entity_id,
        budget.limit_amount,
        budget.period,
        budget.timezone,
        list(budget.thresholds),
        budget.is_hard_limit,
        _filters_json(budget),
    )
    assert row is not None
    return to_budget(row)


async def get(
    conn: Conn, *, org_id: str, budget_id: UUID, for_update: bool = False
) -> Budget | None:
    """The org's budget `budget_id` (archived ones too), or None."""
    # NO KEY UPDATE, not UPDATE: the consumer's foreign-key checks (KEY SHARE) on this row
    # keep flowing while an edit is in progress.
    lock = " FOR NO KEY UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM budgets WHERE id = $1 AND org_id = $2{lock}", budget_id, org_id
    )
    return to_budget(row) if row else None


async def update(conn: Conn, budget: Budget) -> Budget:
    """Write a budget's changeable fields; type and entity never change."""
    row = await conn.fetchrow(
        "UPDATE budgets SET name = $3, limit_amount = $4, period = $5, timezone = $6,"
        " thresholds = $7, is_hard_limit = $8, filters = $9::jsonb, updated_at = now()"
        f" WHERE id = $1 AND org_id = $2 RETURNING {_COLUMNS}",
        budget.id,
        budget.org_id,
        budget.name,
        budget.limit_amount,
        budget.period,
        budget.timezone,
        list(budget.thresholds),
        budget.is_hard_limit,
        _filters_json(budget),
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
) -> list[Budget]:
    """The org's budgets, newest first, after the keyset cursor `after`."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM budgets WHERE org_id = $1"
        " AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR entity_id = $3)"
        " AND ($4 OR archived_at IS NULL)"
        " AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))"
        " ORDER BY created_at DESC, id DESC LIMIT $7",
        org_id,
        type,
        entity_id,
        include_archived,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [to_budget(r) for r in rows]


async def covering(conn: Conn, payers: Sequence[Payer]) -> list[Budget]:
    """Active budgets naming any of the payers' org, project or user (filters not applied)."""
    keys = {(p.org_id, t, p.entity(t)) for p in payers for t in BUDGET_TYPES}
    if not keys:
        return []
    orgs, types, entities = (list(col) for col in zip(*sorted(keys), strict=True))
    rows = await conn.fetch(
        f"SELECT {_prefixed('b')} FROM budgets b"
        " JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(org_id, type, entity_id)"
        " ON b.org_id = k.org_id AND b.type = k.type AND b.entity_id = k.entity_id"
        " WHERE b.archived_at IS NULL ORDER BY b.id",
        orgs,
        types,
        entities,
    )
    return [to_budget(r) for r in rows]


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in _COLUMNS.split(","))
