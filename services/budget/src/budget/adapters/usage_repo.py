"""Storage for the consumer and the sweep: one trusted transaction over every table it needs."""

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
from rex_shared import outbox, topics
from rex_shared.cloudevents import OutgoingEvent

from budget.adapters import budget_repo, firing_repo, period_repo, reservation_repo
from budget.adapters.period_repo import PeriodKey
from budget.adapters.pg import Conn, connection, trusted
from budget.domain.alerts import Alert
from budget.domain.closures import Closure
from budget.domain.model import Budget, Payer
from budget.domain.usage import Charge

SCHEMA = "budget"


class PgUsageStore:
    """UsageStore over one connection whose transaction the caller owns."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def claim(self, event_ids: Sequence[str]) -> set[str]:
        """The ids not processed before, now recorded (in id order, so that instances handed
        overlapping batches take the inbox rows alike)."""
        rows = await self._conn.fetch(
            "INSERT INTO processed_events (event_id, topic)"
            " SELECT DISTINCT id, $2 FROM unnest($1::text[]) AS id ORDER BY id"
            " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            list(event_ids),
            topics.LLM_COST_RECORDED,
        )
        return {r["event_id"] for r in rows}

    async def budgets_covering(self, payers: Sequence[Payer]) -> list[Budget]:
        """Active budgets of the payers' orgs, projects and users."""
        return await budget_repo.covering(self._conn, payers)

    async def add_usage(self, charges: Sequence[Charge]) -> dict[PeriodKey, Decimal]:
        """Add the charges to their period rows; the new totals."""
        return await period_repo.add_usage(self._conn, charges) if charges else {}

    async def budgets_now(self, ids: Sequence[UUID]) -> dict[UUID, Budget]:
        """The budgets as committed now (read after the period rows are locked)."""
        return await budget_repo.by_ids(self._conn, ids)

    async def record_alert(self, alert: Alert) -> bool:
        """Fire a threshold once per period: False when it had fired already."""
        return await firing_repo.record(self._conn, alert)

    async def shrink_holds(self, spent: Sequence[tuple[str, UUID, Decimal]]) -> None:
        """Reduce the active holds of the evaluations these costs belong to."""
        await reservation_repo.shrink(self._conn, spent)

    async def close_before(self, cutoffs: Mapping[UUID, datetime]) -> list[Closure]:
        """Close each budget's periods that ended by its cutoff."""
        return await period_repo.close_before(self._conn, cutoffs) if cutoffs else []

    async def close_ended(self, ended_by: datetime) -> list[Closure]:
        """Close periods that ended by `ended_by`, whoever they belong to."""
        return await period_repo.close_ended(self._conn, ended_by=ended_by)

    async def expire_reservations(self, now: datetime) -> list[UUID]:
        """Mark overdue active reservations expired."""
        return await reservation_repo.expire_due(self._conn, now)

    async def enqueue(self, events: list[OutgoingEvent]) -> None:
        """Publish later, if and only if this transaction commits."""
        await enqueue(self._conn, events)


async def enqueue(conn: Conn, events: list[OutgoingEvent]) -> None:
    """Add `events` to the outbox in `conn`'s transaction (the relay publishes them)."""
    await outbox.enqueue(connection(conn), events, schema=SCHEMA)


@asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool) -> AsyncIterator[PgUsageStore]:
    """A store in one trusted transaction (the consumer serves every org; rolled back on
    error)."""
    async with trusted(pool) as conn:
        yield PgUsageStore(conn)
