"""`/api/v1/budgets/alerts`: list and acknowledge threshold alerts."""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from rex_shared import cursors
from rex_shared.api import Envelope, ok

from budget.adapters.alert_repo import StoredAlert
from budget.adapters.pg import scoped
from budget.entrypoints.http.deps import Acknowledger, Caller, CursorParam, DepsDep, Limit, own
from budget.entrypoints.http.views import AlertOut, AlertPage
from budget.handlers import alerts

# Declared before the budgets router: its `/{budget_id}` would otherwise see "alerts".
router = APIRouter(prefix="/api/v1/budgets/alerts", tags=["alerts"])


@router.get("", response_model=Envelope[AlertPage])
async def list_alerts(
    caller: Caller,
    deps: DepsDep,
    acknowledged: bool | None = None,
    budget_id: Annotated[UUID | None, Query()] = None,
    kind: Annotated[Literal["actual", "forecast"] | None, Query()] = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """The org's alerts, newest first; `?acknowledged=false` for the open ones (a member:
    those of their own budgets)."""
    async with scoped(deps.db(), caller.org_id) as conn:
        rows = await alerts.alerts_page(
            conn,
            org_id=caller.org_id,
            acknowledged=acknowledged,
            budget_id=budget_id,
            kind=kind,
            limit=limit + 1,
            after=cursors.decode(cursor),
            own=own(caller),
        )
    page, next_cursor = cursors.cut(rows, limit, lambda a: (a.crossed_at, a.id))
    return ok(AlertPage(items=[_out(a) for a in page], next_cursor=next_cursor))


@router.post("/{alert_id}/acknowledge", response_model=Envelope[AlertOut])
async def acknowledge_alert(alert_id: UUID, caller: Acknowledger, deps: DepsDep) -> dict[str, Any]:
    """Mark an alert as seen (admin or member); repeating it changes nothing."""
    async with scoped(deps.db(), caller.org_id) as conn:
        alert = await alerts.acknowledge(
            conn, org_id=caller.org_id, alert_id=alert_id, own=own(caller)
        )
    return ok(_out(alert))


def _out(alert: StoredAlert) -> AlertOut:
    return AlertOut.model_validate(alert, from_attributes=True)
