"""`/api/v1/costs`: the price catalog (read by anyone in the org, written by admins) and
repricing."""

from typing import Any

from fastapi import APIRouter, Depends, Query
from rex_shared import cursors
from rex_shared.api import IsoDateTime, documented, ok
from rex_shared.auth import require_role

from cost_ledger.domain.repricing import Scope
from cost_ledger.entrypoints.http import replies, report_views, views
from cost_ledger.entrypoints.http.deps import DepsDep, PrincipalDep, single_valued_query, utc
from cost_ledger.entrypoints.http.schemas import PriceRequest, RepriceRequest
from cost_ledger.handlers import prices, repricing

router = APIRouter(prefix="/api/v1/costs", tags=["costs"],
                   dependencies=[Depends(single_valued_query)])  # fmt: skip


@router.get("/pricing", **documented(replies.PricingPageOut))
async def pricing(
    who: PrincipalDep, deps: DepsDep,
    provider: str | None = Query(None, max_length=100),
    model: str | None = Query(None, max_length=200), at: IsoDateTime | None = None,
    limit: int = Query(500, ge=1, le=5000), cursor: str | None = Query(None, max_length=300),
) -> dict[str, Any]:  # fmt: skip
    page = prices.price_page(deps.prices.book(), org_id=who.org_id, provider=provider,
                             model=model, at=utc(at, deps.now), limit=limit,
                             cursor=cursor)  # fmt: skip
    return ok(views.pricing_page(page.model_id, page.rows, page.next_cursor))


@router.post("/pricing", status_code=201, **documented(replies.PriceAddedOut, status=201))
async def add_price(body: PriceRequest, who: PrincipalDep, deps: DepsDep) -> dict[str, Any]:
    require_role(who, "admin")
    ask = prices.PriceAsk(
        provider=body.provider, model=body.model, service_tier=body.service_tier,
        batch=body.batch, effective_from=utc(body.effective_from, deps.now),
        rates=body.rates.model_dump(), public=body.scope == "public",
        confirm_unusual=body.confirm_unusual, note=body.note,
    )  # fmt: skip
    added = await prices.add_price(
        ask, org_id=who.org_id, created_by=who.sub,
        catalog_admin=who.org_id in deps.settings.catalog_admin_orgs, catalog=deps.catalog,
        prices=deps.prices,
    )  # fmt: skip
    return ok(views.price_added(added.row, added.reference_id, added.unusual))


@router.post("/reprice", **documented(replies.RepriceOut))
async def reprice(
    who: PrincipalDep, deps: DepsDep, body: RepriceRequest | None = None
) -> dict[str, Any]:
    require_role(who, "admin")
    body = body or RepriceRequest()
    scope = Scope(
        who.org_id, body.provider, body.model, body.from_ and utc(body.from_, deps.now),
        body.to and utc(body.to, deps.now), cursors.decode(body.cursor), body.include_priced,
    )  # fmt: skip
    found, adjustments, added = await repricing.reprice_org(
        scope, store=deps.store, book=deps.prices.book, now=deps.now(), dry_run=body.dry_run,
        limit=body.limit,
    )  # fmt: skip
    deps.observe(added)
    last = found[-1] if len(found) == body.limit else None
    nxt = cursors.encode(last.occurred_at, last.call_id) if last else None
    return ok(report_views.reprice_report(adjustments, examined=len(found),
                                          dry_run=body.dry_run, next_cursor=nxt))  # fmt: skip
