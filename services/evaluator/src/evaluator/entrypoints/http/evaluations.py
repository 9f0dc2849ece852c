"""`/api/v1/evaluations`: parse, call one handler or repository function, shape the reply."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from rex_shared.api import documented, ok
from rex_shared.auth import Principal, require_role, sees_only_own

from evaluator.bootstrap import Deps
from evaluator.domain.model import TERMINAL
from evaluator.entrypoints.http.deps import DepsDep, PageDep, PrincipalDep
from evaluator.entrypoints.http.replies import (
    Cancelling,
    EstimateReply,
    EvaluationOut,
    EvaluationPage,
    Submitted,
)
from evaluator.entrypoints.http.schemas import EvaluationIn
from evaluator.entrypoints.http.views import (
    cancelling_view,
    estimate_view,
    evaluation_view,
    page_view,
    submitted_view,
    summary_view,
)
from evaluator.handlers import evaluations as use
from evaluator.handlers.evaluations import Gatekeeping, SubmitEvaluation
from evaluator.ports import EvaluationState

router = APIRouter(prefix="/api/v1/evaluations", tags=["evaluations"])


def _owner(who: Principal) -> str | None:
    return who.sub if sees_only_own(who) else None


async def _command(body: EvaluationIn, who: Principal, d: Deps) -> SubmitEvaluation:
    rows = None
    if body.dataset_id is not None:
        rows = await use.dataset_rows(d.datasets, who.org_id, body.dataset_id)
    return use.within(body.command(org_id=who.org_id, user_id=who.sub, rows=rows), d.max_rows)


def _gates(d: Deps) -> Gatekeeping:
    if d.gates is None:
        raise RuntimeError("no gatekeeping configured")
    return d.gates


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


async def _events(d: Deps, who: Principal, evaluation_id: str) -> AsyncIterator[str]:
    last: dict[str, Any] | None = None
    idle = 0.0
    while True:
        state = await use.find(d.repo, who.org_id, evaluation_id, _owner(who))
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


class EventStream(StreamingResponse):
    """Server-sent events (documents the stream's media type in OpenAPI)."""

    media_type = "text/event-stream"


@router.post("", status_code=202, **documented(Submitted, status=202))
async def submit(body: EvaluationIn, who: PrincipalDep, d: DepsDep) -> JSONResponse:
    require_role(who, "admin", "member")
    cmd = await _command(body, who, d)
    evaluation = await use.submit_evaluation(
        cmd, repo=d.repo, gates=_gates(d), now=datetime.now(UTC)
    )
    d.start_run(evaluation.id)
    return JSONResponse(ok(submitted_view(evaluation)), 202)


@router.post("/estimate", **documented(EstimateReply))
async def estimate(body: EvaluationIn, who: PrincipalDep, d: DepsDep) -> Any:
    cmd = await _command(body, who, d)
    found = await use.estimate_evaluation(cmd, _gates(d))
    return ok(estimate_view(found, len(cmd.rows), cmd.judge))


@router.get("", **documented(EvaluationPage))
async def list_evaluations(who: PrincipalDep, d: DepsDep, page: PageDep) -> Any:
    items = await d.repo.list(who.org_id, page.limit, page.after, _owner(who))
    next_cursor = page.next_cursor([(s.evaluation.created_at, s.evaluation.id) for s in items])
    return ok(page_view([summary_view(s) for s in items], next_cursor))


@router.get("/{evaluation_id}", **documented(EvaluationOut))
async def get_evaluation(evaluation_id: str, who: PrincipalDep, d: DepsDep) -> Any:
    state = await use.find(d.repo, who.org_id, evaluation_id, _owner(who))
    # The stored results and the ledger's actual cost at once (one waits on the database,
    # the other on the ledger).
    results, actual = await asyncio.gather(d.repo.results(who.org_id, state.evaluation.id),
                                           use.actual_cost(d.ledger, state))  # fmt: skip
    return ok(evaluation_view(state, results, actual))


@router.post("/{evaluation_id}/cancel", status_code=202, **documented(Cancelling, status=202))
async def cancel(evaluation_id: str, who: PrincipalDep, d: DepsDep) -> JSONResponse:
    require_role(who, "admin", "member")
    state = await use.find(d.repo, who.org_id, evaluation_id, _owner(who))
    await use.cancel(d.repo, state)
    d.start_run(state.evaluation.id)  # no run holds it: one starts, sees the flag, ends
    return JSONResponse(ok(cancelling_view(evaluation_id)), 202)


@router.get("/{evaluation_id}/events", response_class=EventStream)
async def events(evaluation_id: str, who: PrincipalDep, d: DepsDep) -> StreamingResponse:
    await use.find(d.repo, who.org_id, evaluation_id, _owner(who))  # 404 before the stream
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _events(d, who, evaluation_id), media_type="text/event-stream", headers=headers
    )
