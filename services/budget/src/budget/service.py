"""Budget use cases behind the API: keyword-only functions over one connection."""

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from rex_shared.api import APIError, NotFound

from budget.adapters import budget_repo, usage_repo
from budget.adapters.pg import Conn
from budget.domain.model import Budget
from budget.domain.periods import period_bounds
from budget.domain.usage import PeriodStatus, period_status


async def budget_with_period(
    conn: Conn, *, org_id: str, budget_id: UUID, now: datetime
) -> tuple[Budget, PeriodStatus]:
    """A budget and where it stands in the period containing `now`."""
    budget = await _get(conn, org_id=org_id, budget_id=budget_id)
    bounds = period_bounds(budget.period, now, budget.timezone)
    row = await usage_repo.period_usage(conn, budget.id, bounds.start)
    usage, events = (row.usage_amount, row.events) if row else (Decimal(0), 0)
    return budget, period_status(budget, bounds, usage, events)


async def update_budget(
    conn: Conn, *, org_id: str, budget_id: UUID, changes: dict[str, Any]
) -> Budget:
    """Apply `changes` to an active budget (row locked, so concurrent edits do not mix)."""
    async with conn.transaction():
        current = await _get(conn, org_id=org_id, budget_id=budget_id, for_update=True)
        if current.archived_at is not None:
            raise APIError(409, "BUDGET_ARCHIVED", "an archived budget cannot be changed")
        return await budget_repo.update(conn, replace(current, **changes))


async def archive_budget(conn: Conn, *, org_id: str, budget_id: UUID) -> Budget:
    """Archive a budget; its periods and alerts stay queryable."""
    budget = await budget_repo.archive(conn, org_id=org_id, budget_id=budget_id)
    if budget is None:
        raise NotFound("budget")
    return budget


async def periods(
    conn: Conn, *, org_id: str, budget_id: UUID, limit: int, before: datetime | None
) -> tuple[Budget, list[PeriodStatus]]:
    """A budget's stored periods, newest first (usage judged against today's limit)."""
    budget = await _get(conn, org_id=org_id, budget_id=budget_id)
    rows = await usage_repo.periods(conn, budget.id, limit=limit, before=before)
    return budget, [period_status(budget, r.period, r.usage_amount, r.events) for r in rows]


async def _get(conn: Conn, *, org_id: str, budget_id: UUID, for_update: bool = False) -> Budget:
    budget = await budget_repo.get(conn, org_id=org_id, budget_id=budget_id, for_update=for_update)
    if budget is None:
        raise NotFound("budget")  # another org's budget is indistinguishable from none
    return budget
