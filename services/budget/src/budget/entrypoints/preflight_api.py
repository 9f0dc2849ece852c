"""`/api/v1/budgets/check` and `/api/v1/budgets/reservations`: before an evaluation spends."""

import logging
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from rex_shared.api import Envelope, NotFound, ok
from rex_shared.auth import Principal

from budget import preflight
from budget.adapters import reservation_repo
from budget.adapters.pg import scoped
from budget.adapters.reservation_repo import Reservation
from budget.domain.holds import LimitWarning, Verdict
from budget.entrypoints.deps import Checker, Config, Pool, Reserver, own, require_self
from budget.entrypoints.preflight_schemas import (
    CheckIn,
    CheckOut,
    ExceededOut,
    ReservationIn,
    ReservationOut,
    SettleOut,
    WarningOut,
)
from budget.handlers import utcnow

log = logging.getLogger(__name__)
# Declared before the budgets router: its `/{budget_id}` must not see "check".
router = APIRouter(prefix="/api/v1/budgets", tags=["pre-flight"])


def _request(body: CheckIn, caller: Principal) -> preflight.Request:
    require_self(caller, body.user_id)
    return preflight.Request(caller.org_id, body.project_id, body.user_id, body.estimated_cost)


def _audit(request: Request, caller: Principal, what: str, evaluation: UUID | None) -> None:
    # The evaluator says for whom it acts; kept for audit, never trusted for access.
    on_behalf = request.headers.get("x-rex-on-behalf-of")
    if caller.has("service"):
        log.info(
            what,
            extra={
                "org_id": caller.org_id,
                "caller": caller.sub,
                "on_behalf_of": on_behalf,
                "evaluation_id": str(evaluation) if evaluation else None,
            },
        )


@router.post("/check", response_model=Envelope[CheckOut])
async def check_budget(body: CheckIn, caller: Checker, pool: Pool) -> dict[str, Any]:
    """Would `estimated_cost` fit every budget of this org, project and user? No side
    effects: nothing is held; hard limits that would be passed are listed in `exceeded`."""
    req = _request(body, caller)
    async with scoped(pool, caller.org_id) as conn:
        _, verdict = await preflight.check(conn, req, now=utcnow())
    return ok(_check_out(verdict))


@router.post("/reservations", status_code=201, response_model=Envelope[ReservationOut])
async def create_reservation(
    body: ReservationIn, request: Request, caller: Reserver, pool: Pool, settings: Config
) -> dict[str, Any]:
    """Hold `estimated_cost` against every applicable budget at once, or 409
    BUDGET_EXCEEDED naming the budget. The same evaluation asking again gets its hold back."""
    req = _request(body, caller)
    _audit(request, caller, "reservation requested", body.evaluation_id)
    async with scoped(pool, caller.org_id) as conn:
        reservation, verdict = await preflight.reserve(
            conn,
            req,
            evaluation_id=body.evaluation_id,
            created_by=caller.sub,
            now=utcnow(),
            ttl=settings.reservation_ttl,
            new_id=uuid4,
        )
    return ok(_reservation_out(reservation, verdict.warnings))


@router.get("/reservations/{reservation_id}", response_model=Envelope[ReservationOut])
async def get_reservation(reservation_id: UUID, caller: Checker, pool: Pool) -> dict[str, Any]:
    """A reservation and what it still holds."""
    async with scoped(pool, caller.org_id) as conn:
        found = await reservation_repo.get(
            conn, org_id=caller.org_id, reservation_id=reservation_id
        )
    if found is None or (own(caller) is not None and found.user_id != own(caller)):
        raise NotFound("reservation")
    return ok(_reservation_out(found, []))


@router.post("/reservations/{reservation_id}/settle", response_model=Envelope[SettleOut])
async def settle_reservation(
    reservation_id: UUID, request: Request, caller: Reserver, pool: Pool
) -> dict[str, Any]:
    """The evaluation ended: release what is still held (idempotent)."""
    _audit(request, caller, "reservation settled", None)
    async with scoped(pool, caller.org_id) as conn:
        done = await preflight.settle(
            conn,
            org_id=caller.org_id,
            reservation_id=reservation_id,
            own=own(caller),
            now=utcnow(),
        )
    released = done.released_amount if done.released_amount is not None else 0
    return ok(SettleOut(id=done.id, status=done.status, released_amount=released))


def _warnings(warnings: list[LimitWarning]) -> list[WarningOut]:
    return [
        WarningOut(
            budget_id=w.budget.id,
            budget_name=w.budget.name,
            message=w.message,
            usage_percent_after=w.usage_percent_after,
        )
        for w in warnings
    ]


def _check_out(verdict: Verdict) -> CheckOut:
    exceeded = [
        ExceededOut(
            budget_id=s.budget.id,
            budget_name=s.budget.name,
            limit_amount=s.budget.limit_amount,
            usage_amount=s.usage,
            held_amount=s.held,
        )
        for s in verdict.exceeded
    ]
    warnings = _warnings(verdict.warnings)
    return CheckOut(allowed=verdict.allowed, exceeded=exceeded, warnings=warnings)


def _reservation_out(r: Reservation, warnings: list[LimitWarning]) -> ReservationOut:
    return ReservationOut(
        id=r.id,
        evaluation_id=r.evaluation_id,
        status=r.status,
        held_amount=r.held_amount,
        expires_at=r.expires_at,
        budgets=r.budget_ids,
        warnings=_warnings(warnings),
        estimated_cost=r.estimated_cost,
        consumed_amount=r.consumed_amount,
        project_id=r.project_id,
        user_id=r.user_id,
        created_at=r.created_at,
    )
