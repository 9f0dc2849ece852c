"""The cost_alerts table, read side: list and acknowledge."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from budget.adapters.pg import Conn
from budget.domain.thresholds import canonical

_COLUMNS = (
    "id, org_id, budget_id, period_start, period_end, threshold, kind, severity, usage_amount,"
    " limit_amount, usage_percent, is_hard_limit, crossed_at, acknowledged_at, threshold_basis,"
    " threshold_amount, projected_amount, runs_out_at"
)
Cursor = tuple[datetime, UUID]


@dataclass(frozen=True)
class StoredAlert:
    """A cost_alerts row."""

    id: UUID
    org_id: str
    budget_id: UUID
    period_start: datetime
    period_end: datetime
    threshold: Decimal
    kind: str
    severity: str
    usage_amount: Decimal
    limit_amount: Decimal
    usage_percent: Decimal
    is_hard_limit: bool
    crossed_at: datetime
    acknowledged_at: datetime | None
    threshold_basis: str
    threshold_amount: Decimal | None
    projected_amount: Decimal | None
    runs_out_at: datetime | None


_MONEY = (
    "threshold",
    "usage_amount",
    "limit_amount",
    "usage_percent",
    "threshold_amount",
    "projected_amount",
)


def _own(param: str) -> str:
    # A member sees the alerts of the user budgets that name them, nothing else.
    return (
        f"({param}::text IS NULL OR budget_id IN"
        f" (SELECT id FROM budgets WHERE type = 'user' AND entity_id = {param}))"
    )


def _alert(row: asyncpg.Record) -> StoredAlert:
    values = dict(row)
    for money in _MONEY:
        if values[money] is not None:
            values[money] = canonical(values[money])
    return StoredAlert(**values)


async def page(
    conn: Conn,
    *,
    org_id: str,
    acknowledged: bool | None,
    budget_id: UUID | None,
    limit: int,
    after: Cursor | None,
    own: str | None = None,
    kind: str | None = None,
) -> list[StoredAlert]:
    """The org's alerts, newest first, after the keyset cursor `after`."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM cost_alerts WHERE org_id = $1"
        " AND ($2::boolean IS NULL OR (acknowledged_at IS NOT NULL) = $2)"
        " AND ($3::uuid IS NULL OR budget_id = $3)"
        " AND ($4::timestamptz IS NULL OR (crossed_at, id) < ($4, $5::uuid))"
        f" AND {_own('$7')} AND ($8::text IS NULL OR kind = $8)"
        " ORDER BY crossed_at DESC, id DESC LIMIT $6",
        org_id,
        acknowledged,
        budget_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        own,
        kind,
    )
    return [_alert(r) for r in rows]


async def acknowledge(
    conn: Conn, *, org_id: str, alert_id: UUID, own: str | None = None
) -> StoredAlert | None:
    """Mark an alert acknowledged (the first acknowledgement's time is kept)."""
    row = await conn.fetchrow(
        "UPDATE cost_alerts SET acknowledged_at = coalesce(acknowledged_at, now())"
        f" WHERE id = $1 AND org_id = $2 AND {_own('$3')} RETURNING {_COLUMNS}",
        alert_id,
        org_id,
        own,
    )
    return _alert(row) if row else None
