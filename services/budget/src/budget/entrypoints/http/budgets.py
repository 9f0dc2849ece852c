"""`/api/v1/budgets`: translate HTTP to the budget use cases, and back."""

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from rex_shared import cursors
from rex_shared.api import Envelope, ok

from budget.adapters.pg import scoped
from budget.domain.model import Budget, BudgetType
from budget.entrypoints.http.deps import Admin, Caller, CursorParam, DepsDep, Limit, own
from budget.entrypoints.http.schemas import BudgetIn, BudgetUpdate
from budget.entrypoints.http.views import (
    BudgetOut,
    BudgetPage,
    PeriodPage,
    current_period_out,
    period_out,
)
from budget.handlers import budgets

router = APIRouter(prefix="/api/v1/budgets", tags=["budgets"])


@router.post("", status_code=201, response_model=Envelope[BudgetOut])
async def create_budget(body: BudgetIn, caller: Admin, deps: DepsDep) -> dict[str, Any]:
    """Create a budget for the caller's org (admin only)."""
    async with scoped(deps.db(), caller.org_id) as conn:
        budget = await budgets.create_budget(conn, _new_budget(body, caller.org_id, deps.new_id))
    return ok(_out(budget))


@router.get("", response_model=Envelope[BudgetPage])
async def list_budgets(
    caller: Caller,
    deps: DepsDep,
    budget_type: Annotated[BudgetType | None, Query(alias="type")] = None,
    entity_id: Annotated[str | None, Query(max_length=200)] = None,
    include_archived: bool = False,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The org's budgets, newest first, filtered by type and entity (a member: their own)."""
    async with scoped(deps.db(), caller.org_id) as conn:
        rows = await budgets.budgets_page(
            conn,
            org_id=caller.org_id,
            type=budget_type,
            entity_id=entity_id,
            include_archived=include_archived,
            limit=limit + 1,
            after=cursors.decode(cursor),
            own=own(caller),
        )
    page, next_cursor = cursors.cut(rows, limit, _position)
    return ok(BudgetPage(items=[_out(b) for b in page], next_cursor=next_cursor))


@router.get("/{budget_id}", response_model=Envelope[BudgetOut])
async def get_budget(budget_id: UUID, caller: Caller, deps: DepsDep) -> dict[str, Any]:
    """A budget with its current period: usage, percent, remaining, forecast, thresholds."""
    async with scoped(deps.db(), caller.org_id) as conn:
        view = await budgets.budget_view(
            conn,
            org_id=caller.org_id,
            budget_id=budget_id,
            own=own(caller),
            now=deps.now(),
            policy=deps.forecast,
        )
    out = _out(view.budget)
    out.current_period = current_period_out(view)
    return ok(out)


@router.put("/{budget_id}", response_model=Envelope[BudgetOut])
async def update_budget(
    budget_id: UUID, body: BudgetUpdate, caller: Admin, deps: DepsDep
) -> dict[str, Any]:
    """Change a budget (admin only); its thresholds are re-evaluated against the new limit:
    a raised limit re-arms those no longer reached, a lowered one fires those now reached."""
    async with scoped(deps.db(), caller.org_id) as conn:
        budget = await budgets.update_budget(
            conn,
            org_id=caller.org_id,
            budget_id=budget_id,
            changes=body.changes(),
            now=deps.now(),
            policy=deps.forecast,
            new_id=deps.new_id,
        )
    return ok(_out(budget))


@router.delete("/{budget_id}", response_model=Envelope[BudgetOut])
async def delete_budget(budget_id: UUID, caller: Admin, deps: DepsDep) -> dict[str, Any]:
    """Archive a budget (admin only); its history stays."""
    async with scoped(deps.db(), caller.org_id) as conn:
        budget = await budgets.archive_budget(conn, org_id=caller.org_id, budget_id=budget_id)
    return ok(_out(budget))


@router.get("/{budget_id}/periods", response_model=Envelope[PeriodPage])
async def list_periods(
    budget_id: UUID,
    caller: Caller,
    deps: DepsDep,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Periods with usage, newest first; past periods stay queryable."""
    after = cursors.decode(cursor)
    async with scoped(deps.db(), caller.org_id) as conn:
        _, rows = await budgets.periods(
            conn,
            org_id=caller.org_id,
            budget_id=budget_id,
            own=own(caller),
            limit=limit + 1,
            before=after[0] if after else None,
        )
    page, next_cursor = cursors.cut(rows, limit, lambda p: (p.period.start, budget_id))
    return ok(PeriodPage(items=[period_out(p) for p in page], next_cursor=next_cursor))


def _new_budget(body: BudgetIn, org_id: str, new_id: Callable[[], UUID]) -> Budget:
    return Budget(
        id=new_id(),
        org_id=org_id,
        name=body.name,
        type=body.type,
        entity_id=body.entity_id or org_id,
        limit_amount=body.limit_amount,
        period=body.period,
        timezone=body.timezone,
        thresholds=tuple(body.thresholds),
        is_hard_limit=body.is_hard_limit,
        filters=body.filters.stored() if body.filters else None,
        threshold_amounts=tuple(body.threshold_amounts),
    )


def _position(budget: Budget) -> tuple[Any, UUID]:
    return budget.created_at, budget.id


def _out(budget: Budget) -> BudgetOut:
    return BudgetOut(
        id=budget.id,
        name=budget.name,
        type=budget.type,
        entity_id=budget.entity_id,
        limit_amount=budget.limit_amount,
        period=budget.period,
        timezone=budget.timezone,
        thresholds=list(budget.thresholds),
        threshold_amounts=list(budget.threshold_amounts),
        is_hard_limit=budget.is_hard_limit,
        filters={k: list(v) for k, v in budget.filters.items()} if budget.filters else None,
        created_at=budget.created_at,
        updated_at=budget.updated_at,
        archived_at=budget.archived_at,
    )
