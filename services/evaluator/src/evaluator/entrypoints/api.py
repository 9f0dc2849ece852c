"""`/api/v1/evaluations`: parse, call one handler or repository function, shape the reply."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from rex_shared.api import APIError, NotFound, ok
from rex_shared.auth import Principal

from evaluator.domain import pagination
from evaluator.entrypoints.schemas import EvaluationIn
from evaluator.entrypoints.views import evaluation_view, summary_view
from evaluator.handlers import InvalidRows, UnknownMetrics, submit_evaluation
from evaluator.ports import EvaluationRepo


@dataclass(frozen=True)
class ApiDeps:
    """What the routes use, built by bootstrap when the app starts."""

    repo: EvaluationRepo
    start_run: Callable[[UUID], None]
    max_rows: int


def build_router(deps: Callable[[], ApiDeps], principal: Callable[..., Any]) -> APIRouter:
    """The evaluation routes; every one needs a verified caller."""
    router = APIRouter(prefix="/api/v1/evaluations", tags=["evaluations"])
    caller = Depends(principal)

    @router.post("", status_code=202)
    async def submit(body: EvaluationIn, who: Principal = caller) -> JSONResponse:
        d = deps()
        if len(body.rows) > d.max_rows:
            raise APIError(
                422,
                "VALIDATION_ERROR",
                f"at most {d.max_rows} rows per evaluation",
                {"rows": len(body.rows), "max_rows": d.max_rows},
            )
        try:
            evaluation = await submit_evaluation(
                body.command(org_id=who.org_id, user_id=who.sub),
                repo=d.repo,
                now=datetime.now(UTC),
            )
        except UnknownMetrics as exc:
            raise APIError(422, "UNKNOWN_METRIC", str(exc), {"unknown": exc.names}) from exc
        except InvalidRows as exc:
            raise APIError(422, "VALIDATION_ERROR", str(exc), {"problems": exc.problems}) from exc
        d.start_run(evaluation.id)
        return JSONResponse(ok({"id": str(evaluation.id), "status": evaluation.status}), 202)

    @router.get("")
    async def list_evaluations(
        who: Principal = caller, limit: int = Query(20, ge=1, le=100), cursor: str | None = None
    ) -> dict[str, Any]:
        try:
            after = pagination.decode(cursor) if cursor else None
        except pagination.InvalidCursor as exc:
            raise APIError(400, "INVALID_CURSOR", str(exc)) from exc
        items = await deps().repo.list(who.org_id, limit, after)
        last = items[-1].evaluation if len(items) == limit else None
        next_cursor = pagination.encode(last.created_at, last.id) if last else None
        return ok({"items": [summary_view(s) for s in items], "next_cursor": next_cursor})

    @router.get("/{evaluation_id}")
    async def get_evaluation(evaluation_id: str, who: Principal = caller) -> dict[str, Any]:
        repo = deps().repo
        state = await repo.get(who.org_id, _uuid(evaluation_id))
        if state is None:
            raise NotFound("evaluation")
        return ok(evaluation_view(state, await repo.results(state.evaluation.id)))

    return router


def _uuid(text: str) -> UUID:
    # A malformed id names no evaluation: 404, like one of another organization.
    try:
        return UUID(text)
    except ValueError as exc:
        raise NotFound("evaluation") from exc
