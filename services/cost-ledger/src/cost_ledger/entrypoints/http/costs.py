"""`/api/v1/costs`: an evaluation's costs, and the price of a hypothetical call."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends
from rex_shared.api import documented, ok

from cost_ledger.entrypoints.http import replies, views
from cost_ledger.entrypoints.http.deps import (
    DepsDep,
    PrincipalDep,
    only_own,
    single_valued_query,
    utc,
)
from cost_ledger.entrypoints.http.schemas import EstimateRequest
from cost_ledger.handlers import costs

router = APIRouter(prefix="/api/v1/costs", tags=["costs"],
                   dependencies=[Depends(single_valued_query)])  # fmt: skip


@router.get("/evaluations/{evaluation_id}", **documented(replies.EvaluationCostsOut))
async def evaluation_costs(evaluation_id: UUID, who: PrincipalDep, deps: DepsDep) -> dict[str, Any]:
    found = await costs.evaluation_costs(evaluation_id, org_id=who.org_id, user_id=only_own(who),
                                         reports=deps.reports)  # fmt: skip
    return ok(views.evaluation(found))


@router.post("/estimate", **documented(replies.EstimateOut))
async def estimate(body: EstimateRequest, who: PrincipalDep, deps: DepsDep) -> dict[str, Any]:
    quote = costs.estimate(
        body.usage, provider=body.provider, model=body.model, at=utc(body.timestamp, deps.now),
        service_tier=body.service_tier, batch=body.batch, org_id=who.org_id,
        book=deps.prices.book(),
    )  # fmt: skip
    return ok(views.estimate(quote))
