"""HTTP API: deliveries (list, show, retry) and message previews; org always from the token."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from rex_shared.api import APIError, Envelope, NotFound, ok
from rex_shared.auth import JwtVerifier, Principal, principal_dependency, require_role
from rex_shared.events import Severity

from notifier.adapters.deliveries_query import DeliveryQueries
from notifier.domain.delivery import Delivery, Status
from notifier.domain.paging import BadCursor, decode_cursor, encode_cursor
from notifier.domain.samples import SAMPLES
from notifier.messages import Renderer


class DeliveryOut(BaseModel):
    """A delivery as the API shows it."""

    id: UUID
    event_id: str
    event_type: str
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


def _out(d: Delivery) -> dict[str, Any]:
    fields = {k: v for k, v in vars(d).items() if k not in ("payload", "org_id")}
    return DeliveryOut(**fields, event=d.payload).model_dump(mode="json")


def _queries(request: Request) -> DeliveryQueries:
    queries: DeliveryQueries = request.app.state.queries
    return queries


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _after(cursor: str | None) -> tuple[datetime, UUID] | None:
    try:
        return decode_cursor(cursor) if cursor else None
    except BadCursor as exc:
        raise APIError(422, "INVALID_CURSOR", "cursor is not valid") from exc


def build_router(verifier: JwtVerifier) -> APIRouter:
    """The `/api/v1/notifications` routes, each behind bearer authentication."""
    router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
    caller = principal_dependency(verifier)

    @router.get("/deliveries", response_model=Envelope[DeliveryPage])
    async def list_deliveries(
        status: Status | None = None,
        limit: int = Query(50, ge=1, le=200),
        cursor: str | None = None,
        principal: Principal = Depends(caller),
        queries: DeliveryQueries = Depends(_queries),
    ) -> dict[str, Any]:
        rows = await queries.page(
            org_id=principal.org_id, status=status, limit=limit + 1, after=_after(cursor)
        )
        page, more = rows[:limit], len(rows) > limit
        next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more else None
        return ok({"items": [_out(d) for d in page], "next_cursor": next_cursor})

    @router.get("/deliveries/{delivery_id}", response_model=Envelope[DeliveryOut])
    async def get_delivery(
        delivery_id: UUID,
        principal: Principal = Depends(caller),
        queries: DeliveryQueries = Depends(_queries),
    ) -> dict[str, Any]:
        found = await queries.get(org_id=principal.org_id, delivery_id=delivery_id)
        if found is None:
            raise NotFound("delivery")
        return ok(_out(found))

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

    @router.get("/preview", response_model=Envelope[Preview])
    async def preview(
        event: str,
        kind: Literal["actual", "forecast"] = "actual",
        severity: Severity = "warning",
        _: Principal = Depends(caller),
        renderer: Renderer = Depends(_renderer),
    ) -> dict[str, Any]:
        if event not in SAMPLES:
            raise APIError(
                422,
                "UNKNOWN_EVENT_TYPE",
                f"no templates for event {event!r}",
                {"known": sorted(SAMPLES)},
            )
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

    return router
