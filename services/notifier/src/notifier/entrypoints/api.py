"""HTTP API: deliveries (list, show, retry), previews and channels; the org is the token's."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from rex_shared import cursors
from rex_shared.api import APIError, Envelope, NotFound, ok
from rex_shared.auth import (
    JwtVerifier,
    Principal,
    principal_dependency,
    require_role,
    sees_only_own,
)
from rex_shared.events import Severity
from rex_shared.security import RateLimiter

from notifier.adapters.deliveries_query import DeliveryFilter, DeliveryQueries
from notifier.domain.channels import Kind
from notifier.domain.delivery import Delivery, Status
from notifier.domain.samples import SAMPLES
from notifier.entrypoints.channels_api import build_channels_router
from notifier.entrypoints.deps import Caller, state
from notifier.messages import Renderer


class DeliveryOut(BaseModel):
    """A delivery as the API shows it."""

    id: UUID
    event_id: str
    event_type: str
    channel_id: UUID | None
    channel_key: str
    channel_kind: str
    status: Status
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    event: dict[str, Any]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class Preview(BaseModel):
    event: str
    kind: str
    severity: str
    subject: str
    text: str
    html: str
    slack: dict[str, Any]


_TEXT = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: a 422, not a 500
_HIDDEN = ("payload", "org_id", "channel_version")


def _out(d: Delivery) -> dict[str, Any]:
    fields = {k: v for k, v in vars(d).items() if k not in _HIDDEN}
    return DeliveryOut(**fields, event=d.payload).model_dump(mode="json")


def _own(principal: Principal) -> str | None:
    # Members see only deliveries of their own user budgets (alerts about their spend).
    return principal.sub if sees_only_own(principal) else None


def _visible(principal: Principal, delivery: Delivery | None) -> Delivery | None:
    own = _own(principal)
    if delivery is None or own is None:
        return delivery
    payload = delivery.payload
    mine = payload.get("budget_type") == "user" and payload.get("entity_id") == own
    return delivery if mine else None


def _queries(request: Request) -> DeliveryQueries:
    queries: DeliveryQueries = state(request, "queries")
    return queries


def build_router(verifier: JwtVerifier, limiter: RateLimiter | None = None) -> APIRouter:
    """The `/api/v1/notifications` routes: each authenticated, then rate limited."""
    caller = principal_dependency(verifier)
    guards = [Depends(limiter.dependency(caller))] if limiter is not None else []
    router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"], dependencies=guards)
    _deliveries(router, caller)
    _preview(router, caller)
    router.include_router(build_channels_router(caller))
    return router


def _deliveries(router: APIRouter, caller: Caller) -> None:
    @router.get("/deliveries", response_model=Envelope[DeliveryPage])
    async def list_deliveries(
        status: Status | None = None,
        channel_id: UUID | None = None,
        channel_kind: Kind | None = None,
        event_type: str | None = Query(None, max_length=200, pattern=_TEXT),
        event_id: str | None = Query(None, max_length=200, pattern=_TEXT),
        budget_id: UUID | None = None,
        limit: int = Query(50, ge=1, le=200),
        cursor: str | None = Query(None, max_length=500),
        principal: Principal = Depends(caller),
        queries: DeliveryQueries = Depends(_queries),
    ) -> dict[str, Any]:
        where = DeliveryFilter(
            status, channel_id, channel_kind, event_type, event_id, budget_id, _own(principal)
        )
        rows = await queries.page(
            org_id=principal.org_id, where=where, limit=limit + 1, after=cursors.decode(cursor)
        )
        page, next_cursor = cursors.cut(rows, limit, lambda d: (d.created_at, d.id))
        return ok({"items": [_out(d) for d in page], "next_cursor": next_cursor})

    @router.get("/deliveries/{delivery_id}", response_model=Envelope[DeliveryOut])
    async def get_delivery(
        delivery_id: UUID,
        principal: Principal = Depends(caller),
        queries: DeliveryQueries = Depends(_queries),
    ) -> dict[str, Any]:
        found = await queries.get(org_id=principal.org_id, delivery_id=delivery_id)
        shown = _visible(principal, found)
        if shown is None:
            raise NotFound("delivery")
        return ok(_out(shown))

    @router.post("/deliveries/{delivery_id}/retry", response_model=Envelope[DeliveryOut])
    async def retry_delivery(
        delivery_id: UUID,
        principal: Principal = Depends(caller),
        queries: DeliveryQueries = Depends(_queries),
    ) -> dict[str, Any]:
        require_role(principal, "admin")
        retried = await queries.retry_dead(org_id=principal.org_id, delivery_id=delivery_id)
        if retried is not None:
            return ok(_out(retried))
        if await queries.get(org_id=principal.org_id, delivery_id=delivery_id) is None:
            raise NotFound("delivery")
        raise APIError(409, "DELIVERY_NOT_DEAD", "only a dead delivery can be retried")


def _preview(router: APIRouter, caller: Caller) -> None:
    @router.get("/preview", response_model=Envelope[Preview])
    async def preview(
        request: Request,
        event: str = Query(max_length=200),
        kind: Literal["actual", "forecast"] = "actual",
        severity: Severity = "warning",
        _: Principal = Depends(caller),
    ) -> dict[str, Any]:
        if event not in SAMPLES:
            raise APIError(
                422,
                "UNKNOWN_EVENT_TYPE",
                f"no templates for event {event!r}",
                {"known": sorted(SAMPLES)},
            )
        renderer: Renderer = state(request, "renderer")
        shown = renderer.render_event(event, SAMPLES[event](kind=kind, severity=severity))
        return ok(
            Preview(
                event=event,
                kind=kind,
                severity=severity,
                subject=shown.subject,
                text=shown.text,
                html=shown.html,
                slack=shown.slack,
            ).model_dump()
        )
