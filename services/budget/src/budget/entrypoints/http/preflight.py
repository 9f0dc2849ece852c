"""`/api/v1/budgets/check` and `/api/v1/budgets/reservations`: before an evaluation spends."""

import logging
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from rex_shared.api import Envelope, ok
from rex_shared.auth import Principal

from budget.adapters.pg import scoped
from budget.adapters.reservation_repo import Reservation
from budget.domain.holds import LimitWarning, Verdict
from budget.entrypoints.http.deps import (
    CheckContext,
    Checker,
    DepsDep,
    ReserveContext,
    Reserver,
    own,
    require_self,
)
from budget.entrypoints.http.fast_json import fast_json
from budget.entrypoints.http.schemas import CheckIn, ReservationIn
from budget.entrypoints.http.views import CheckOut, ReservationOut, SettleOut, WarningOut
from budget.handlers import preflight

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


# The two calls the evaluator makes before every evaluation answer with a Response built
# here (orjson, plain values): the same JSON the response models describe, without building
# and serializing the models for each request. Each runs as one SQL function call that
# scopes itself to the caller's org (see budget.adapters.budget_repo and reservation_repo).


@router.post("/check", response_model=Envelope[CheckOut])
async def check_budget(body: CheckIn, ctx: CheckContext) -> Response:
    """Would `estimated_cost` fit every budget of this org, project and user? No side
    effects: nothing is held; hard limits that would be passed are listed in `exceeded`."""
    req = _request(body, ctx.caller)
    _, verdict = await preflight.check(ctx.pool, req, now=ctx.deps.now())
    return fast_json(ok(_check_json(verdict)))


@router.post("/reservations", status_code=201, response_model=Envelope[ReservationOut])
async def create_reservation(
    body: ReservationIn, request: Request, ctx: ReserveContext
) -> Response:
    """Hold `estimated_cost` against every applicable budget at once, or 409
    BUDGET_EXCEEDED naming the budget. The same evaluation asking again gets its hold back."""
    req = _request(body, ctx.caller)
    _audit(request, ctx.caller, "reservation requested", body.evaluation_id)
    # One connection for both statements (each its own transaction: see preflight.reserve).
    async with ctx.pool.acquire() as conn:
        reservation, verdict = await preflight.reserve(
            conn,
            req,
            evaluation_id=body.evaluation_id,
            created_by=ctx.caller.sub,
            now=ctx.deps.now(),
            ttl=ctx.deps.reservation_ttl,
            new_id=ctx.deps.new_id,
        )
    return fast_json(ok(_reservation_json(reservation, verdict.warnings)), status=201)


@router.get("/reservations/{reservation_id}", response_model=Envelope[ReservationOut])
async def get_reservation(reservation_id: UUID, caller: Checker, deps: DepsDep) -> dict[str, Any]:
    """A reservation and what it still holds."""
    async with scoped(deps.db(), caller.org_id) as conn:
        found = await preflight.reservation(
            conn, org_id=caller.org_id, reservation_id=reservation_id, own=own(caller)
        )
    return ok(_reservation_out(found, []))


@router.post("/reservations/{reservation_id}/settle", response_model=Envelope[SettleOut])
async def settle_reservation(
    reservation_id: UUID, request: Request, caller: Reserver, deps: DepsDep
) -> dict[str, Any]:
    """The evaluation ended: release what is still held (idempotent)."""
    _audit(request, caller, "reservation settled", None)
    async with scoped(deps.db(), caller.org_id) as conn:
        done = await preflight.settle(
            conn,
            org_id=caller.org_id,
            reservation_id=reservation_id,
            own=own(caller),
            now=deps.now(),
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


# The *_json builders leave amounts as Decimals: fast_json writes them as exact decimal
# strings, as rex_shared.money.Money serializes.
def _warnings_json(warnings: list[LimitWarning]) -> list[dict[str, Any]]:
    return [
        {
            "budget_id": w.budget.id,
            "budget_name": w.budget.name,
            "message": w.message,
            "usage_percent_after": w.usage_percent_after,
        }
        for w in warnings
    ]


def _check_json(verdict: Verdict) -> dict[str, Any]:
    """CheckOut as JSON values."""
    exceeded = [
        {
            "budget_id": s.budget.id,
            "budget_name": s.budget.name,
            "limit_amount": s.budget.limit_amount,
            "usage_amount": s.usage,
            "held_amount": s.held,
        }
        for s in verdict.exceeded
    ]
    warnings = _warnings_json(verdict.warnings)
    return {"allowed": verdict.allowed, "exceeded": exceeded, "warnings": warnings}


def _reservation_json(r: Reservation, warnings: list[LimitWarning]) -> dict[str, Any]:
    """ReservationOut as JSON values."""
    return {
        "id": r.id,
        "evaluation_id": r.evaluation_id,
        "status": r.status,
        "held_amount": r.held_amount,
        "expires_at": r.expires_at,
        "budgets": r.budget_ids,
        "warnings": _warnings_json(warnings),
        "estimated_cost": r.estimated_cost,
        "consumed_amount": r.consumed_amount,
        "project_id": r.project_id,
        "user_id": r.user_id,
        "created_at": r.created_at,
    }


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
