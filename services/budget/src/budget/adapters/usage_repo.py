"""Usage storage for the consumer: inbox, period rows, threshold firings, alerts, outbox."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
from rex_shared import inbox, outbox, topics
from rex_shared.cloudevents import OutgoingEvent

from budget.adapters import budget_repo
from budget.adapters.pg import Conn, connection
from budget.domain.model import Budget, Payer
from budget.domain.periods import PeriodBounds
from budget.domain.thresholds import canonical
from budget.domain.usage import Alert, Charge

SCHEMA = "budget"


class PgUsageStore:
    """UsageStore over one connection whose transaction the caller owns."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def claim(self, event_id: str) -> bool:
        """False when the event was processed before."""
        return await inbox.claim(connection(self._conn), event_id, topics.LLM_COST_RECORDED)

    async def budgets_covering(self, payers: Sequence[Payer]) -> list[Budget]:
        """Active budgets of the payers' orgs, projects and users."""
        return await budget_repo.covering(self._conn, payers)

    async def add_usage(self, charge: Charge) -> Decimal:
        """Add to the period row (created on first use) and return the new total."""
        # One atomic statement: concurrent instances serialize on the row lock, and the
        # RETURNING value is the total including exactly this charge.
        total = await self._conn.fetchval(
            "INSERT INTO budget_periods (budget_id, period_start, period_end, usage_amount,"
            " events) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (budget_id, period_start)"
            " DO UPDATE SET usage_amount = budget_periods.usage_amount + EXCLUDED.usage_amount,"
            " events = budget_periods.events + EXCLUDED.events, updated_at = now()"
            " RETURNING usage_amount",
            charge.budget.id,
            charge.period.start,
            charge.period.end,
            charge.amount,
            charge.events,
        )
        return canonical(total)

    async def record_alert(self, alert: Alert) -> bool:
        """Fire a threshold once per period: False when it had fired already."""
        fired = await self._conn.fetchval(
            "INSERT INTO threshold_firings (budget_id, period_start, threshold, kind, alert_id)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1",
            alert.budget.id,
            alert.period.start,
            alert.threshold,
            alert.kind,
            alert.id,
        )
        if fired is None:
            return False
        b = alert.budget
        await self._conn.execute(
            "INSERT INTO cost_alerts (id, org_id, budget_id, period_start, period_end, threshold,"
            " kind, severity, usage_amount, limit_amount, usage_percent, is_hard_limit,"
            " crossed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            alert.id,
            b.org_id,
            b.id,
            alert.period.start,
            alert.period.end,
            alert.threshold,
            alert.kind,
            alert.severity,
            alert.usage_amount,
            b.limit_amount,
            alert.usage_percent,
            b.is_hard_limit,
            alert.crossed_at,
        )
        return True

    async def enqueue(self, events: list[OutgoingEvent]) -> None:
        """Publish later, if and only if this transaction commits."""
        await outbox.enqueue(connection(self._conn), events, schema=SCHEMA)


@asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool) -> AsyncIterator[PgUsageStore]:
    """A store on a pooled connection inside one transaction (rolled back on error)."""
    async with pool.acquire() as conn, conn.transaction():
        yield PgUsageStore(conn)


@dataclass(frozen=True)
class PeriodUsage:
    """A stored period row."""

    period: PeriodBounds
    usage_amount: Decimal
    events: int


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
