"""Price catalog routes (read by anyone in the org, written by admins) and repricing."""

from typing import Any

import asyncpg
from fastapi import APIRouter, Query
from rex_shared import cursors
from rex_shared.api import APIError, IsoDateTime, documented, ok
from rex_shared.auth import Principal, require_role
from rex_shared.db import bypass_rls

from cost_ledger.adapters import catalog_repo
from cost_ledger.domain.admin_prices import NewPrice, catalog_row, rates_from, unusual_rates
from cost_ledger.domain.pricebook import normalize_tier
from cost_ledger.domain.repricing import Scope
from cost_ledger.entrypoints import replies, report_views, views
from cost_ledger.entrypoints.deps import Deps, utc
from cost_ledger.entrypoints.requests import PriceRequest, RepriceRequest
from cost_ledger.handlers import reprice_calls

_CONTENDED = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)


def add_routes(routes: APIRouter, caller: Any, deps: Deps) -> None:
    """GET/POST /pricing and POST /reprice."""
    _read_routes(routes, caller, deps)
    _write_routes(routes, caller, deps)


def _read_routes(routes: APIRouter, caller: Any, deps: Deps) -> None:
    @routes.get("/pricing", **documented(replies.PricingPageOut))
    async def pricing(
        provider: str | None = Query(None, max_length=100),
        model: str | None = Query(None, max_length=200), at: IsoDateTime | None = None,
        limit: int = Query(500, ge=1, le=5000), cursor: str | None = Query(None, max_length=300),
        who: Principal = caller,
    ) -> dict[str, Any]:  # fmt: skip
        prices = deps.book()
        model_id = None
        if model is not None:
            if provider is None:
                raise APIError(422, "VALIDATION_ERROR", "provider is required with model")
            found = prices.model_id(provider, model)
            if found is None:
                return ok(views.pricing_page(None, [], None))
            provider, model_id = found
        rows = prices.rows(at=utc(at, deps.now), provider=provider and provider.lower(),
                           model_id=model_id, org_id=who.org_id)  # fmt: skip
        page = [r for r in rows if cursor is None or r.id > cursor][:limit]
        more = len(page) == limit and page[-1].id != rows[-1].id
        return ok(views.pricing_page(model_id, page, page[-1].id if more else None))


def _write_routes(routes: APIRouter, caller: Any, deps: Deps) -> None:
    @routes.post("/pricing", status_code=201, **documented(replies.PriceAddedOut, status=201))
    async def add_price(body: PriceRequest, who: Principal = caller) -> dict[str, Any]:
        require_role(who, "admin")
        if body.scope == "public" and who.org_id not in deps.catalog_admin_orgs:
            raise APIError(403, "FORBIDDEN", "only catalog administrators add public prices")
        new = _new_price(body, deps, org_id=who.org_id if body.scope == "org" else None)
        tier, batch = new.service_tier, new.batch
        reference = deps.book().row_for(new.provider, new.model_id, at=new.effective_from,
                                        tier=tier, batch=batch, org_id=new.org_id)  # fmt: skip
        odd = unusual_rates(new.rates, reference.rates) if reference else []
        if odd and not body.confirm_unusual:
            raise APIError(422, "UNUSUAL_PRICE", "a rate is more than 100x off the reference;"
                           " resend with confirm_unusual=true if it is right",
                           {"reference_price_id": reference.id if reference else None,
                            "rates": [{"rate": u.rate, "given": str(u.given),
                                       "reference": str(u.reference)} for u in odd]})  # fmt: skip
        row = catalog_row(new)
        async with deps.store().transaction(who.org_id) as tx:
            if new.org_id is None:
                await bypass_rls(tx.conn)  # a public row: authorized above
            added = await catalog_repo.insert_row(tx.conn, row, created_by=who.sub,
                                                  note=body.note)  # fmt: skip
        if not added:
            raise APIError(409, "PRICE_EXISTS", f"a price {row.id} already exists")
        await deps.reload_prices()
        return ok(views.price_added(row, reference.id if reference else None,
                                    [u.rate for u in odd]))  # fmt: skip

    @routes.post("/reprice", **documented(replies.RepriceOut))
    async def reprice(
        body: RepriceRequest | None = None, who: Principal = caller
    ) -> dict[str, Any]:
        require_role(who, "admin")
        body = body or RepriceRequest()
        scope = Scope(
            who.org_id, body.provider, body.model, body.from_ and utc(body.from_, deps.now),
            body.to and utc(body.to, deps.now),
            cursors.decode(body.cursor), body.include_priced,
        )  # fmt: skip
        for attempt in range(3):
            try:
                found, adjustments, added = await reprice_calls(
                    scope, store=deps.store(), book=deps.book, now=deps.now(),
                    dry_run=body.dry_run, limit=body.limit,
                )  # fmt: skip
                break
            except _CONTENDED as exc:  # the consumer held the same aggregate rows: again
                if attempt == 2:
                    raise APIError(503, "BUSY", "the ledger is busy, try again") from exc
        deps.observe(added)
        last = found[-1] if len(found) == body.limit else None
        nxt = cursors.encode(last.occurred_at, last.call_id) if last else None
        return ok(report_views.reprice_report(adjustments, examined=len(found),
                                              dry_run=body.dry_run, next_cursor=nxt))  # fmt: skip


def _new_price(body: PriceRequest, deps: Deps, *, org_id: str | None) -> NewPrice:
    tier, batch = normalize_tier(body.service_tier, body.batch)
    rates = rates_from(body.rates.model_dump())
    if rates.input is None and rates.output is None:
        raise APIError(422, "VALIDATION_ERROR", "a price needs at least an input or output rate")
    known = deps.book().model_id(body.provider, body.model)
    provider, model_id = known or (body.provider.lower(), body.model.lower())
    return NewPrice(
        provider=provider, model_id=model_id, model_name=body.model, service_tier=tier,
        batch=batch, effective_from=utc(body.effective_from, deps.now), rates=rates,
        org_id=org_id,
    )  # fmt: skip
