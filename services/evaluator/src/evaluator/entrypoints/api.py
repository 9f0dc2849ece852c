"""`/api/v1/evaluations`: parse, call one handler or repository function, shape the reply."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, StreamingResponse
from rex_shared import cursors
from rex_shared.api import APIError, NotFound, documented, ok
from rex_shared.auth import Principal, require_role, sees_only_own

from evaluator.adapters.dataset_repo import PgDatasetRepo
from evaluator.adapters.key_repo import PgKeyRepo
from evaluator.adapters.services import LedgerClient, Refused, ServiceUnavailable
from evaluator.domain.model import TERMINAL
from evaluator.entrypoints.replies import (
    Cancelling,
    EstimateReply,
    EvaluationOut,
    EvaluationPage,
    Submitted,
)
from evaluator.entrypoints.schemas import EvaluationIn
from evaluator.entrypoints.views import (
    cancelling_view,
    estimate_view,
    evaluation_view,
    page_view,
    submitted_view,
    summary_view,
)
from evaluator.handlers import (
    Gatekeeping,
    InvalidRows,
    SubmitEvaluation,
    UnknownMetrics,
    check,
    submit_evaluation,
)
from evaluator.ports import EvaluationRepo, EvaluationState


@dataclass(frozen=True)
class ApiDeps:
    """What the routes use, built by bootstrap when the app starts."""

    repo: EvaluationRepo
    start_run: Callable[[UUID], None]
    max_rows: int
    gates: Gatekeeping | None = None
    datasets: PgDatasetRepo | None = None
    keys: PgKeyRepo | None = None
    ledger: LedgerClient | None = None
    on_key_change: Callable[[str, str], None] | None = None
    poll_s: float = 0.5


def unavailable(exc: ServiceUnavailable) -> APIError:
    return APIError(
        503, "BUDGET_SERVICE_UNAVAILABLE", str(exc), {"service": exc.service, "reason": exc.reason}
    )


def refused(exc: Refused) -> APIError:
    """The ledger's or budget's own error, passed on (e.g. 409 BUDGET_EXCEEDED)."""
    error = exc.error
    return APIError(
        exc.status,
        str(error.get("code") or "REFUSED"),
        str(error.get("message") or "refused"),
        dict(error.get("details") or {}),
    )


def _uuid(text: str) -> UUID:
    # A malformed id names no evaluation: 404, like one of another organization.
    try:
        return UUID(text)
    except ValueError as exc:
        raise NotFound("evaluation") from exc


async def _command(body: EvaluationIn, who: Principal, d: ApiDeps) -> SubmitEvaluation:
    rows = None
    if body.dataset_id is not None:
        found = (
            await d.datasets.get(who.org_id, body.dataset_id, with_rows=True)
            if d.datasets
            else None
        )
        if found is None:
            raise APIError(404, "DATASET_NOT_FOUND", "dataset not found")
        rows = found.rows
    cmd = body.command(org_id=who.org_id, user_id=who.sub, rows=rows)
    if len(cmd.rows) > d.max_rows:
        raise APIError(
            422,
            "VALIDATION_ERROR",
            f"at most {d.max_rows} rows per evaluation",
            {"rows": len(cmd.rows), "max_rows": d.max_rows},
        )
    try:
        return check(cmd)
    except UnknownMetrics as exc:
        raise APIError(422, "UNKNOWN_METRIC", str(exc), {"unknown": exc.names}) from exc
    except InvalidRows as exc:
        raise APIError(422, "VALIDATION_ERROR", str(exc), {"problems": exc.problems}) from exc


def _gates(d: ApiDeps) -> Gatekeeping:
    if d.gates is None:
        raise RuntimeError("no gatekeeping configured")
    return d.gates


async def _state(d: ApiDeps, who: Principal, evaluation_id: str) -> EvaluationState:
    owner = who.sub if sees_only_own(who) else None
    state = await d.repo.get(who.org_id, _uuid(evaluation_id), owner)
    if state is None:
        raise NotFound("evaluation")
    return state


async def _actual(d: ApiDeps, state: EvaluationState) -> dict[str, Any]:
    if d.ledger is None:
        return {"actual": None}
    e = state.evaluation
    try:
        found = await d.ledger.evaluation_costs(
            org_id=e.org_id, user_id=e.user_id, evaluation_id=e.id
        )
    except ServiceUnavailable as exc:
        return {"actual": None, "actual_error": str(exc)}
    if found is None:
        return {"actual": "0", "ledger": None}
    return {"actual": found.get("total_cost"), "ledger": found}


def _progress(state: EvaluationState) -> dict[str, Any]:
    view = summary_view(state)
    keys = (
        "id",
        "status",
        "rows_done",
        "rows_total",
        "progress",
        "calls",
        "scores",
        "cancel_requested",
        "error",
    )
    return {k: view[k] for k in keys}


async def _events(d: ApiDeps, who: Principal, evaluation_id: str) -> AsyncIterator[str]:
    last: dict[str, Any] | None = None
    idle = 0.0
    while True:
        state = await _state(d, who, evaluation_id)
        now = _progress(state)
        if now != last:
            kind = "completed" if state.evaluation.status in TERMINAL else "progress"
            yield f"event: {kind}\ndata: {json.dumps(now)}\n\n"
            last, idle = now, 0.0
            if kind == "completed":
                return
        elif idle >= 15:
            yield ": keep-alive\n\n"
            idle = 0.0
        await asyncio.sleep(d.poll_s)
        idle += d.poll_s


async def _submit(d: ApiDeps, body: EvaluationIn, who: Principal) -> dict[str, Any]:
    cmd = await _command(body, who, d)
    try:
        evaluation = await submit_evaluation(
            cmd, repo=d.repo, gates=_gates(d), now=datetime.now(UTC)
        )
    except Refused as exc:
        raise refused(exc) from exc
    except ServiceUnavailable as exc:
        raise unavailable(exc) from exc
    d.start_run(evaluation.id)
    return submitted_view(evaluation)


async def _estimate(d: ApiDeps, body: EvaluationIn, who: Principal) -> dict[str, Any]:
    cmd = await _command(body, who, d)
    try:
        found = await _gates(d).estimate(cmd)
    except Refused as exc:
        raise refused(exc) from exc
    except ServiceUnavailable as exc:
        raise unavailable(exc) from exc
    return estimate_view(found, len(cmd.rows), cmd.judge)


class EventStream(StreamingResponse):
    """Server-sent events (documents the stream's media type in OpenAPI)."""

    media_type = "text/event-stream"


def build_router(deps: Callable[[], ApiDeps], principal: Callable[..., Any]) -> APIRouter:
    """The evaluation routes; every one needs a verified caller."""
    router = APIRouter(prefix="/api/v1/evaluations", tags=["evaluations"])
    caller = Depends(principal)

    @router.post("", status_code=202, **documented(Submitted, status=202))
    async def submit(body: EvaluationIn, who: Principal = caller) -> JSONResponse:
        require_role(who, "admin", "member")
        return JSONResponse(ok(await _submit(deps(), body, who)), 202)

    @router.post("/estimate", **documented(EstimateReply))
    async def estimate(body: EvaluationIn, who: Principal = caller) -> Any:
        return ok(await _estimate(deps(), body, who))

    @router.get("", **documented(EvaluationPage))
    async def list_evaluations(
        who: Principal = caller,
        limit: int = Query(20, ge=1, le=100),
        cursor: str | None = Query(None, max_length=200),
    ) -> Any:
        after = cursors.decode(cursor)
        owner = who.sub if sees_only_own(who) else None
        items = await deps().repo.list(who.org_id, limit, after, owner)
        last = items[-1].evaluation if len(items) == limit else None
        next_cursor = cursors.encode(last.created_at, last.id) if last else None
        return ok(page_view([summary_view(s) for s in items], next_cursor))

    @router.get("/{evaluation_id}", **documented(EvaluationOut))
    async def get_evaluation(evaluation_id: str, who: Principal = caller) -> Any:
        d = deps()
        state = await _state(d, who, evaluation_id)
        # The stored results and the ledger's actual cost at once (one waits on the database,
        # the other on the ledger).
        results, actual = await asyncio.gather(d.repo.results(state.evaluation.id),
                                               _actual(d, state))  # fmt: skip
        return ok(evaluation_view(state, results, actual))

    @router.post("/{evaluation_id}/cancel", status_code=202, **documented(Cancelling, status=202))
    async def cancel(evaluation_id: str, who: Principal = caller) -> JSONResponse:
        require_role(who, "admin", "member")
        d = deps()
        state = await _state(d, who, evaluation_id)
        if not await d.repo.request_cancel(who.org_id, state.evaluation.id):
            raise APIError(409, "EVALUATION_FINISHED", f"evaluation is {state.evaluation.status}")
        d.start_run(state.evaluation.id)  # no run holds it: one starts, sees the flag, ends
        return JSONResponse(ok(cancelling_view(evaluation_id)), 202)

    @router.get("/{evaluation_id}/events", response_class=EventStream)
    async def events(evaluation_id: str, who: Principal = caller) -> StreamingResponse:
        d = deps()
        await _state(d, who, evaluation_id)  # 404 before the stream starts
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            _events(d, who, evaluation_id), media_type="text/event-stream", headers=headers
        )

    return router
