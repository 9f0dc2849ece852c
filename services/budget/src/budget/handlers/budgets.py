"""Budget use cases: keyword-only functions over one transaction scoped to the caller's org."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from rex_shared.errors import Conflict, Invalid, NotFound

from budget.adapters import budget_repo, firing_repo, period_repo, usage_repo
from budget.adapters.firing_repo import Firing
from budget.adapters.pg import Conn
from budget.domain.alerts import reevaluate
from budget.domain.forecast import Forecast, ForecastPolicy, forecast
from budget.domain.model import Budget
from budget.domain.periods import period_bounds
from budget.domain.usage import PeriodStatus, period_status
from budget.events import alert_events


@dataclass(frozen=True)
class BudgetView:
    """A budget, its current period, the forecast and its thresholds' state."""

    budget: Budget
    status: PeriodStatus
    forecast: Forecast | None
    fired: list[Firing]


async def budget_view(
    conn: Conn,
    *,
    org_id: str,
    budget_id: UUID,
    own: str | None,
    now: datetime,
    policy: ForecastPolicy,
) -> BudgetView:
    """A budget and where it stands in the period containing `now`."""
    budget = await _get(conn, org_id=org_id, budget_id=budget_id, own=own)
    bounds = period_bounds(budget.period, now, budget.timezone)
    row = await period_repo.period_usage(conn, budget.id, bounds.start)
    usage, events = (row.usage_amount, row.events) if row else (Decimal(0), 0)
    projection = forecast(bounds, usage=usage, limit=budget.limit_amount, now=now, policy=policy)
    fired = await firing_repo.fired(conn, budget.id, bounds.start)
    return BudgetView(budget, period_status(budget, bounds, usage, events), projection, fired)


async def create_budget(conn: Conn, budget: Budget) -> Budget:
    """Store a new budget; an organization budget covers its own org only."""
    if budget.type == "organization" and budget.entity_id != budget.org_id:
        raise Invalid(
            "VALIDATION_ERROR",
            "an organization budget covers the caller's org",
            {"errors": [{"loc": ["body", "entity_id"], "msg": "must be your org_id"}]},
        )
    return await budget_repo.insert(conn, budget)


# Listing is a plain read: the repository's keyset query (a member: their own budgets) is
# the whole use case.
budgets_page = budget_repo.page


async def update_budget(
    conn: Conn,
    *,
    org_id: str,
    budget_id: UUID,
    changes: dict[str, Any],
    now: datetime,
    policy: ForecastPolicy,
    new_id: Callable[[], UUID],
) -> Budget:
    """Apply `changes` to an active budget and re-evaluate its current period's thresholds
    against the result, in the same transaction (alerts leave through the outbox)."""
    current = await _get(conn, org_id=org_id, budget_id=budget_id, for_update=True)
    if current.archived_at is not None:
        raise Conflict("BUDGET_ARCHIVED", "an archived budget cannot be changed")
    budget = await budget_repo.update(conn, replace(current, **changes))
    bounds = period_bounds(budget.period, now, budget.timezone)
    # Locking the period row orders us against the consumer: usage it adds before we get the
    # lock is in `usage`; usage it adds after is judged by it against the new limit.
    await period_repo.lock(conn, [(budget, bounds)])
    usage = (await period_repo.usage_at(conn, [(budget.id, bounds.start)]))[budget.id]
    fired = {f.key for f in await firing_repo.fired(conn, budget.id, bounds.start)}
    plan = reevaluate(
        budget, bounds, usage=usage, fired=fired, now=now, policy=policy, new_id=new_id
    )
    await firing_repo.rearm(conn, budget.id, bounds.start, plan.rearm)
    events = []
    for alert in plan.fire:
        if await firing_repo.record(conn, alert):
            events += alert_events(alert)
    await usage_repo.enqueue(conn, events)
    return budget


async def archive_budget(conn: Conn, *, org_id: str, budget_id: UUID) -> Budget:
    """Archive a budget; its periods and alerts stay queryable."""
    budget = await budget_repo.archive(conn, org_id=org_id, budget_id=budget_id)
    if budget is None:
        raise NotFound("budget")
    return budget


async def periods(
    conn: Conn,
    *,
    org_id: str,
    budget_id: UUID,
    own: str | None,
    limit: int,
    before: datetime | None,
) -> tuple[Budget, list[PeriodStatus]]:
    """A budget's stored periods, newest first (usage judged against today's limit)."""
    budget = await _get(conn, org_id=org_id, budget_id=budget_id, own=own)
    rows = await period_repo.periods(conn, budget.id, limit=limit, before=before)
    return budget, [period_status(budget, r.period, r.usage_amount, r.events) for r in rows]


async def _get(
    conn: Conn, *, org_id: str, budget_id: UUID, own: str | None = None, for_update: bool = False
) -> Budget:
    budget = await budget_repo.get(
        conn, org_id=org_id, budget_id=budget_id, own=own, for_update=for_update
    )
    if budget is None:
        raise NotFound("budget")  # another org's (or member's) budget is indistinguishable
    return budget
