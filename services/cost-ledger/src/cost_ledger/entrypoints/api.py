"""Cost API routes: parse, ask the repository or the price book, shape the reply."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from rex_shared.api import APIError, NotFound, ok
from rex_shared.auth import JwtVerifier, Principal, principal_dependency
from rex_shared.events import Usage

from cost_ledger.adapters import costs_repo
from cost_ledger.domain.pricebook import PriceBook
from cost_ledger.entrypoints import views


class EstimateRequest(BaseModel):
    """A hypothetical call to price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=200)
    timestamp: datetime | None = None
    service_tier: str | None = Field(None, max_length=50)
    batch: bool = False
    usage: Usage


def _utc(at: datetime | None, now: Callable[[], datetime]) -> datetime:
    if at is None:
        return now()
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at  # naive times are UTC


def router(
    *,
    verifier: JwtVerifier,
    pool: Callable[[], asyncpg.Pool],
    book: Callable[[], PriceBook],
    now: Callable[[], datetime],
) -> APIRouter:
    """The `/api/v1/costs` routes; every one needs a bearer token and sees only its org."""
    routes = APIRouter(prefix="/api/v1/costs", tags=["costs"])
    caller = Depends(principal_dependency(verifier))

    @routes.get("/evaluations/{evaluation_id}")
    async def evaluation_costs(evaluation_id: UUID, who: Principal = caller) -> dict[str, Any]:
        found = await costs_repo.evaluation_costs(
            pool(), evaluation_id=evaluation_id, org_id=who.org_id
        )
        if found is None:
            raise NotFound("evaluation costs")
        return ok(views.evaluation(found))

    @routes.get("/pricing")
    async def pricing(
        provider: str | None = Query(None, max_length=100),
        model: str | None = Query(None, max_length=200),
        at: datetime | None = None,
        limit: int = Query(500, ge=1, le=5000),
        cursor: str | None = Query(None, max_length=300),
        who: Principal = caller,
    ) -> dict[str, Any]:
        prices = book()
        model_id = None
        if model is not None:
            if provider is None:
                raise APIError(422, "VALIDATION_ERROR", "provider is required with model")
            found = prices.model_id(provider, model)
            if found is None:
                return ok({"model_id": None, "items": [], "next_cursor": None})
            provider, model_id = found
        rows = prices.rows(at=_utc(at, now), provider=provider and provider.lower(),
                           model_id=model_id, org_id=who.org_id)  # fmt: skip
        page = [r for r in rows if cursor is None or r.id > cursor][:limit]
        more = len(page) == limit and page[-1].id != rows[-1].id
        return ok({"model_id": model_id, "items": [views.catalog_row(r) for r in page],
                   "next_cursor": page[-1].id if more else None})  # fmt: skip

    @routes.post("/estimate")
    async def estimate(body: EstimateRequest, who: Principal = caller) -> dict[str, Any]:
        quote = book().quote(
            body.usage, provider=body.provider, model=body.model, at=_utc(body.timestamp, now),
            service_tier=body.service_tier, batch=body.batch, org_id=who.org_id,
        )  # fmt: skip
        if quote.model_id is None:
            raise APIError(422, "UNKNOWN_MODEL", f"no price known for {body.provider}/{body.model}")
        if quote.row is None:
            raise APIError(422, "NO_PRICE", "no catalog row in force at that time")
        return ok(views.estimate(quote))

    return routes
