"""Threshold state (threshold_firings) and the cost_alerts rows that firings write."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from budget.adapters.pg import Conn
from budget.domain.alerts import Alert, FiredKey
from budget.domain.thresholds import canonical


@dataclass(frozen=True)
class Firing:
    """A fired threshold of a period."""

    key: FiredKey
    alert_id: UUID
    fired_at: datetime


async def record(conn: Conn, alert: Alert) -> bool:
    """Fire a threshold once per period: False when it had fired already (it stays armed
    for nobody else: the primary key decides between concurrent instances)."""
    b = alert.budget
    fired = await conn.fetchval(
        "INSERT INTO threshold_firings (org_id, budget_id, period_start, basis, threshold, kind,"
        " alert_id) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 1",
        b.org_id,
        b.id,
        alert.period.start,
        alert.threshold.basis,
        alert.threshold.value,
        alert.kind,
        alert.id,
    )
    if fired is None:
        return False
    projection = alert.forecast
    await conn.execute(
        "INSERT INTO cost_alerts (id, org_id, budget_id, period_start, period_end, threshold,"
        " kind, severity, usage_amount, limit_amount, usage_percent, is_hard_limit, crossed_at,"
        " threshold_basis, threshold_amount, projected_amount, runs_out_at) VALUES ($1, $2, $3,"
        " $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        alert.id,
        b.org_id,
        b.id,
        alert.period.start,
        alert.period.end,
        alert.threshold_percent,
        alert.kind,
        alert.severity,
        alert.usage_amount,
        b.limit_amount,
        alert.usage_percent,
        b.is_hard_limit,
        alert.crossed_at,
        alert.threshold.basis,
        alert.threshold_amount,
        projection.projected_amount if projection else None,
        projection.runs_out_at if projection else None,
    )
    return True


async def fired(conn: Conn, budget_id: UUID, period_start: datetime) -> list[Firing]:
    """The thresholds of a period that fired (and were not re-armed since)."""
    rows = await conn.fetch(
        "SELECT basis, threshold, kind, alert_id, fired_at FROM threshold_firings"
        " WHERE budget_id = $1 AND period_start = $2",
        budget_id,
        period_start,
    )
    return [
        Firing((r["basis"], canonical(r["threshold"]), r["kind"]), r["alert_id"], r["fired_at"])
        for r in rows
    ]


async def rearm(
    conn: Conn, budget_id: UUID, period_start: datetime, keys: Sequence[FiredKey]
) -> None:
    """Arm thresholds again: they may fire once more in this period."""
    if not keys:
        return
    await conn.execute(
        "DELETE FROM threshold_firings f USING unnest($3::text[], $4::numeric[], $5::text[])"
        " AS k(basis, threshold, kind) WHERE f.budget_id = $1 AND f.period_start = $2"
        " AND f.basis = k.basis AND f.threshold = k.threshold AND f.kind = k.kind",
        budget_id,
        period_start,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
