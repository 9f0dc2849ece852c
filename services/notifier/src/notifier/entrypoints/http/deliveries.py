"""`/api/v1/notifications/deliveries`: list, show and retry the org's deliveries."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from rex_shared import cursors
from rex_shared.api import Envelope, ok
from rex_shared.auth import require_role

from notifier.domain.channels import Kind
from notifier.domain.delivery import Status
from notifier.entrypoints.http.deps import DepsDep, PrincipalDep, own_user
from notifier.entrypoints.http.schemas import Cursor, Limit, TextFilter
from notifier.entrypoints.http.views import DeliveryOut, DeliveryPage, delivery_view
from notifier.handlers import history
from notifier.ports import DeliveryFilter

router = APIRouter()


@router.get("/deliveries", response_model=Envelope[DeliveryPage])
async def list_deliveries(
    principal: PrincipalDep,
    deps: DepsDep,
    status: Status | None = None,
    channel_id: UUID | None = None,
    channel_kind: Kind | None = None,
    event_type: TextFilter = None,
    event_id: TextFilter = None,
    budget_id: UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    where = DeliveryFilter(
        status, channel_id, channel_kind, event_type, event_id, budget_id, own_user(principal)
    )
    rows = await history.list_deliveries(
        where,
        org_id=principal.org_id,
        limit=limit + 1,
        after=cursors.decode(cursor),
        deliveries=deps.deliveries,
    )
    page, next_cursor = cursors.cut(rows, limit, lambda d: (d.created_at, d.id))
    return ok({"items": [delivery_view(d) for d in page], "next_cursor": next_cursor})


@router.get("/deliveries/{delivery_id}", response_model=Envelope[DeliveryOut])
async def get_delivery(delivery_id: UUID, principal: PrincipalDep, deps: DepsDep) -> dict[str, Any]:
    shown = await history.get_delivery(
        delivery_id,
        org_id=principal.org_id,
        own_user=own_user(principal),
        deliveries=deps.deliveries,
    )
    return ok(delivery_view(shown))


@router.post("/deliveries/{delivery_id}/retry", response_model=Envelope[DeliveryOut])
async def retry_delivery(
    delivery_id: UUID, principal: PrincipalDep, deps: DepsDep
) -> dict[str, Any]:
    require_role(principal, "admin")
    retried = await history.retry_delivery(
        delivery_id, org_id=principal.org_id, deliveries=deps.deliveries
    )
    return ok(delivery_view(retried))
