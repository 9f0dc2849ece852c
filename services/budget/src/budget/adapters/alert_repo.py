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
    " limit_amount, usage_percent, is_hard_limit, crossed_at, acknowledged_at"
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


def _alert(row: asyncpg.Record) -> StoredAlert:
    values = dict(row)
    for money in ("threshold", "usage_amount", "limit_amount", "usage_percent"):
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
) -> list[StoredAlert]:
    """The org's alerts, newest first, after the keyset cursor `after`."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM cost_alerts WHERE org_id = $1"
        " AND ($2::boolean IS NULL OR (acknowledged_at IS NOT NULL) = $2)"
        " AND ($3::uuid IS NULL OR budget_id = $3)"
        " AND ($4::timestamptz IS NULL OR (crossed_at, id) < ($4, $5::uuid))"
        " ORDER BY crossed_at DESC, id DESC LIMIT $6",
        org_id,
        acknowledged,
        budget_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_alert(r) for r in rows]


async def acknowledge(conn: Conn, *, org_id: str, alert_id: UUID) -> StoredAlert | None:
    """Mark an alert acknowledged (the first acknowledgement's time is kept)."""
    row = await conn.fetchrow(
        "UPDATE cost_alerts SET acknowledged_at = coalesce(acknowledged_at, now())"
        f" WHERE id = $1 AND org_id = $2 RETURNING {_COLUMNS}",
        alert_id,
        org_id,
    )
    return _alert(row) if row else None
