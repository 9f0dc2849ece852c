"""Cost API routes: parse, ask the repository or the price book, shape the reply.

Every route needs a bearer token and counts against the rate limits; the org comes from the
token; members see only their own costs; another org's object is a 404.
"""

from datetime import date, timedelta
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from rex_shared import cursors
from rex_shared.api import APIError, Envelope, IsoDate, IsoDateTime, NotFound, documented, ok
from rex_shared.auth import JwtVerifier, Principal, principal_dependency, sees_only_own
from rex_shared.security import RateLimiter

from cost_ledger.adapters import costs_repo
from cost_ledger.domain import periods
from cost_ledger.entrypoints import admin_api, replies, report_views, views
from cost_ledger.entrypoints.deps import Deps, utc
from cost_ledger.entrypoints.replies import GroupBy
from cost_ledger.entrypoints.requests import NO_NUL, EstimateRequest


def _text() -> Any:
    """An optional text filter (a fresh Query each time: FastAPI must not share one)."""
    return Query(None, min_length=1, max_length=200, pattern=NO_NUL)


def own_user(who: Principal, asked: str | None) -> str | None:
    """The user filter a caller may use: members only ever their own."""
    if not sees_only_own(who):
        return asked
    if asked is not None and asked != who.sub:
        raise APIError(403, "FORBIDDEN", "members see only their own costs")
    return who.sub


async def single_valued_query(request: Request) -> None:
    """Every query parameter of these routes is one value: refuse one given twice (FastAPI
    would silently take the last, so `?to=<date>&to=0.0` read as 1970)."""
    params = request.query_params
    if len(params) != len(params.multi_items()):
        twice = sorted({k for k, _ in params.multi_items() if len(params.getlist(k)) > 1})
        errors = [{"loc": ["query", k], "msg": "given more than once", "type": "repeated"}
                  for k in twice]  # fmt: skip
        raise APIError(422, "VALIDATION_ERROR", "request is invalid", {"errors": errors})


def router(*, verifier: JwtVerifier, limiter: RateLimiter, deps: Deps) -> APIRouter:
    """The `/api/v1/costs` routes."""
    who_dep = principal_dependency(verifier)
    routes = APIRouter(prefix="/api/v1/costs", tags=["costs"],
                       dependencies=[Depends(limiter.dependency(who_dep)),
                                     Depends(single_valued_query)])  # fmt: skip
    caller = Depends(who_dep)
    _evaluation_routes(routes, caller, deps)
    _rollup_routes(routes, caller, deps)
    _calls_route(routes, caller, deps)
    admin_api.add_routes(routes, caller, deps)
    return routes


def _evaluation_routes(routes: APIRouter, caller: Any, deps: Deps) -> None:
    @routes.get("/evaluations/{evaluation_id}", **documented(replies.EvaluationCostsOut))
    async def evaluation_costs(evaluation_id: UUID, who: Principal = caller) -> dict[str, Any]:
        found = await costs_repo.evaluation_costs(
            deps.pool(), evaluation_id=evaluation_id, org_id=who.org_id,
            user_id=who.sub if sees_only_own(who) else None,
        )  # fmt: skip
        if found is None:
            raise NotFound("evaluation costs")
        return ok(views.evaluation(found))

    @routes.post("/estimate", **documented(replies.EstimateOut))
    async def estimate(body: EstimateRequest, who: Principal = caller) -> dict[str, Any]:
        quote = deps.book().quote(
            body.usage, provider=body.provider, model=body.model,
            at=utc(body.timestamp, deps.now), service_tier=body.service_tier, batch=body.batch,
            org_id=who.org_id,
        )  # fmt: skip
        if quote.model_id is None:
            raise APIError(422, "UNKNOWN_MODEL", f"no price known for {body.provider}/{body.model}")
        if quote.row is None:
            raise APIError(422, "NO_PRICE", "no catalog row in force at that time")
        return ok(views.estimate(quote))


def _window(period: periods.Period, start: date | None, end: date | None,
            today: date) -> tuple[date, date]:  # fmt: skip
    try:
        first, after = periods.window(period, start, end, today=today)
    except (OverflowError, ValueError) as exc:  # a period reaching past year 1 or 9999
        raise APIError(422, "VALIDATION_ERROR", "dates out of range") from exc
    if after <= first:
        raise APIError(422, "VALIDATION_ERROR", "`to` must be after `from`")
    if (after - first).days > periods.MAX_DAYS:
        raise APIError(422, "VALIDATION_ERROR", f"at most {periods.MAX_DAYS} days at once")
    return first, after


def _rollup_routes(routes: APIRouter, caller: Any, deps: Deps) -> None:
    @routes.get("/summary", **documented(replies.SummaryOut))
    async def summary(
        period: periods.Period = "month", start: IsoDate | None = Query(None, alias="from"),
        end: IsoDate | None = Query(None, alias="to"), group_by: GroupBy | None = None,
        project_id: str | None = _text(), user_id: str | None = _text(),
        provider: str | None = _text(), model: str | None = _text(),
        metric: str | None = _text(), who: Principal = caller,
    ) -> dict[str, Any]:  # fmt: skip
        first, after = _window(period, start, end, deps.now().date())
        window = costs_repo.Window(who.org_id, first, after, own_user(who, user_id), project_id,
                                   provider, model, metric)  # fmt: skip
        groups, buckets = await costs_repo.summary(
            deps.pool(), window, group_by=group_by, bucket=periods.SERIES_BUCKET[period]
        )
        return ok(report_views.summary(groups, buckets, period=period, first=first, after=after,
                                       group_by=group_by))  # fmt: skip

    @routes.get("/daily", **documented(replies.DailyOut))
    async def daily(
        start: IsoDate | None = Query(None, alias="from"),
        end: IsoDate | None = Query(None, alias="to"),
        group_by: GroupBy | None = None, project_id: str | None = _text(),
        user_id: str | None = _text(), provider: str | None = _text(), model: str | None = _text(),
        metric: str | None = _text(), who: Principal = caller,
    ) -> dict[str, Any]:  # fmt: skip
        today = deps.now().date()
        try:
            after = end or today + timedelta(days=1)
            first = start or after - timedelta(days=30)
        except OverflowError as exc:
            raise APIError(422, "VALIDATION_ERROR", "dates out of range") from exc
        if (after - first).days > 366:
            raise APIError(422, "VALIDATION_ERROR", "at most 366 days at once")
        first, after = _window("day", first, after, today)
        window = costs_repo.Window(who.org_id, first, after, own_user(who, user_id), project_id,
                                   provider, model, metric)  # fmt: skip
        rows = await costs_repo.rollup(deps.pool(), window, group_by=group_by, bucket="day")
        return ok(report_views.daily(rows, first=first, after=after, group_by=group_by))


def _wants_csv(request: Request, fmt: str | None) -> bool:
    return fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", ""))


def _calls_route(routes: APIRouter, caller: Any, deps: Deps) -> None:
    csv_too: dict[int | str, dict[str, Any]] = {
        200: {"model": Envelope[replies.CallsPageOut],
              "content": {"text/csv": {"schema": {"type": "string"}}},
              "description": "Ledger rows (JSON, or CSV when asked for)"}
    }  # fmt: skip

    @routes.get("/calls", response_model=None, responses=csv_too)
    async def calls(
        request: Request, limit: int | None = Query(None, ge=1, le=100_000),
        cursor: str | None = Query(None, max_length=300),
        fmt: Literal["json", "csv"] | None = Query(None, alias="format"),
        start: IsoDateTime | None = Query(None, alias="from"),
        end: IsoDateTime | None = Query(None, alias="to"), project_id: str | None = _text(),
        user_id: str | None = _text(), evaluation_id: UUID | None = None,
        provider: str | None = _text(), model: str | None = _text(), metric: str | None = _text(),
        status: Literal["priced", "unpriced"] | None = None,
        entry_kind: Literal["charge", "adjustment"] | None = None, who: Principal = caller,
    ) -> dict[str, Any] | Response:  # fmt: skip
        as_csv = _wants_csv(request, fmt)
        size = limit or (10_000 if as_csv else 100)
        if not as_csv and size > 1000:
            raise APIError(422, "VALIDATION_ERROR", "limit is at most 1000 (CSV: 100000)")
        found = costs_repo.CallFilter(
            who.org_id, own_user(who, user_id), project_id, evaluation_id, provider, model,
            metric, status, entry_kind, start and utc(start, deps.now),
            end and utc(end, deps.now),
        )  # fmt: skip
        after = cursors.decode_with_seq(cursor)
        rows = await costs_repo.calls(deps.pool(), found, after=after, limit=size + 1)
        page, more = rows[:size], len(rows) > size
        last = page[-1] if page else None
        nxt = cursors.encode(last["occurred_at"], last["call_id"], last["seq"]) if more and last \
            else None  # fmt: skip
        if as_csv:
            headers = {"X-Next-Cursor": nxt} if nxt else {}
            headers["Content-Disposition"] = 'attachment; filename="ledger.csv"'
            return Response(report_views.calls_csv(page), media_type="text/csv",
                            headers=headers)  # fmt: skip
        return ok(report_views.calls_page(page, nxt))
