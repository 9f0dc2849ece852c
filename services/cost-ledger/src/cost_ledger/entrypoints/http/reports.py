"""`/api/v1/costs`: summaries and daily sums of the rollups, and the ledger rows (JSON or CSV)."""

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from rex_shared import cursors
from rex_shared.api import Envelope, IsoDate, IsoDateTime, documented, ok
from rex_shared.auth import sees_only_own

from cost_ledger.domain import periods
from cost_ledger.domain.reports import CallFilter, Window
from cost_ledger.entrypoints.http import report_replies, report_views
from cost_ledger.entrypoints.http.deps import (
    DepsDep,
    PrincipalDep,
    single_valued_query,
    text,
    utc,
)
from cost_ledger.entrypoints.http.replies import GroupBy
from cost_ledger.handlers import reports

router = APIRouter(prefix="/api/v1/costs", tags=["costs"],
                   dependencies=[Depends(single_valued_query)])  # fmt: skip


@router.get("/summary", **documented(report_replies.SummaryOut))
async def summary(
    who: PrincipalDep, deps: DepsDep,
    period: periods.Period = "month", start: IsoDate | None = Query(None, alias="from"),
    end: IsoDate | None = Query(None, alias="to"), group_by: GroupBy | None = None,
    project_id: str | None = text(), user_id: str | None = text(),
    provider: str | None = text(), model: str | None = text(), metric: str | None = text(),
) -> dict[str, Any]:  # fmt: skip
    first, after = reports.window(period, start, end, deps.now().date())
    user = reports.own_user(user_id, caller=who.sub, only_own=sees_only_own(who))
    window = Window(who.org_id, first, after, user, project_id, provider, model, metric)
    groups, buckets = await reports.summary(window, period=period, group_by=group_by,
                                            reports=deps.reports)  # fmt: skip
    return ok(report_views.summary(groups, buckets, period=period, first=first, after=after,
                                   group_by=group_by))  # fmt: skip


@router.get("/daily", **documented(report_replies.DailyOut))
async def daily(
    who: PrincipalDep, deps: DepsDep,
    start: IsoDate | None = Query(None, alias="from"),
    end: IsoDate | None = Query(None, alias="to"),
    group_by: GroupBy | None = None, project_id: str | None = text(),
    user_id: str | None = text(), provider: str | None = text(), model: str | None = text(),
    metric: str | None = text(),
) -> dict[str, Any]:  # fmt: skip
    first, after = reports.daily_window(start, end, deps.now().date())
    user = reports.own_user(user_id, caller=who.sub, only_own=sees_only_own(who))
    window = Window(who.org_id, first, after, user, project_id, provider, model, metric)
    rows = await reports.daily(window, group_by=group_by, reports=deps.reports)
    return ok(report_views.daily(rows, first=first, after=after, group_by=group_by))


def _wants_csv(request: Request, fmt: str | None) -> bool:
    return fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", ""))


_CSV_TOO: dict[int | str, dict[str, Any]] = {
    200: {"model": Envelope[report_replies.CallsPageOut],
          "content": {"text/csv": {"schema": {"type": "string"}}},
          "description": "Ledger rows (JSON, or CSV when asked for)"}
}  # fmt: skip


@router.get("/calls", response_model=None, responses=_CSV_TOO)
async def calls(
    request: Request, who: PrincipalDep, deps: DepsDep,
    limit: int | None = Query(None, ge=1, le=100_000),
    cursor: str | None = Query(None, max_length=300),
    fmt: Literal["json", "csv"] | None = Query(None, alias="format"),
    start: IsoDateTime | None = Query(None, alias="from"),
    end: IsoDateTime | None = Query(None, alias="to"), project_id: str | None = text(),
    user_id: str | None = text(), evaluation_id: UUID | None = None,
    provider: str | None = text(), model: str | None = text(), metric: str | None = text(),
    status: Literal["priced", "unpriced"] | None = None,
    entry_kind: Literal["charge", "adjustment"] | None = None,
) -> dict[str, Any] | Response:  # fmt: skip
    as_csv = _wants_csv(request, fmt)
    size = reports.page_size(limit, as_csv=as_csv)
    user = reports.own_user(user_id, caller=who.sub, only_own=sees_only_own(who))
    found = CallFilter(
        who.org_id, user, project_id, evaluation_id, provider, model, metric, status, entry_kind,
        start and utc(start, deps.now), end and utc(end, deps.now),
    )  # fmt: skip
    after = cursors.decode_with_seq(cursor)
    page, more = await reports.calls_page(found, after=after, size=size, reports=deps.reports)
    last = page[-1] if page else None
    nxt = cursors.encode(last["occurred_at"], last["call_id"], last["seq"]) if more and last \
        else None  # fmt: skip
    if as_csv:
        headers = {"X-Next-Cursor": nxt} if nxt else {}
        headers["Content-Disposition"] = 'attachment; filename="ledger.csv"'
        return Response(report_views.calls_csv(page), media_type="text/csv", headers=headers)
    return ok(report_views.calls_page(page, nxt))
