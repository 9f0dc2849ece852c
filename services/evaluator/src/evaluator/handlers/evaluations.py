"""Evaluations: submit (check, predict, reserve, store), estimate, read, cancel."""

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from prometheus_client import Histogram
from rex_shared.errors import Conflict, Invalid, NotFound

from evaluator.domain.metrics.checks import row_problems, unknown_metrics
from evaluator.domain.model import Evaluation, Judge, Row
from evaluator.handlers.estimates import Estimate
from evaluator.handlers.peers import passed_on
from evaluator.ports import (
    Budget,
    DatasetRepo,
    EvaluationRepo,
    EvaluationState,
    Ledger,
    ServiceUnavailable,
)

log = logging.getLogger(__name__)

SUBMIT_PHASE = Histogram(
    "rex_evaluator_submit_phase_seconds",
    "Where a submission's time goes: predict (tokens + ledger), reserve (budget), store",
    ["phase"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


@contextmanager
def _phase(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        SUBMIT_PHASE.labels(name).observe(time.perf_counter() - started)


class UnknownMetrics(Invalid):
    """Metric names no metric is registered under."""

    def __init__(self, names: list[str]) -> None:
        message = f"unknown metric(s): {', '.join(names)}"
        super().__init__("UNKNOWN_METRIC", message, {"unknown": names})
        self.names = names


class InvalidRows(Invalid):
    """Rows missing a field one of the metrics needs."""

    def __init__(self, problems: list[dict[str, object]]) -> None:
        first = problems[0]
        message = f"rows[{first['row']}].{first['field']} is required by {first['metric']}" + (
            f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        )
        super().__init__("VALIDATION_ERROR", message, {"problems": problems})
        self.problems = problems


@dataclass(frozen=True)
class SubmitEvaluation:
    """Judge `rows` on `metrics` with `judge`, paid by (org, project, user)."""

    org_id: str
    project_id: str
    user_id: str
    metrics: tuple[str, ...]
    judge: Judge
    rows: tuple[Row, ...]
    name: str | None = None
    dataset_id: UUID | None = None


Estimator = Callable[[SubmitEvaluation], Awaitable[Estimate]]


@dataclass(frozen=True)
class Gatekeeping:
    """Prediction and budget reservation before a run; `fail_open` accepts when the ledger
    or the budget service is unreachable (with a warning) instead of refusing."""

    estimate: Estimator
    budget: Budget | None
    fail_open: bool = False


async def dataset_rows(
    datasets: DatasetRepo | None, org_id: str, dataset_id: UUID
) -> tuple[Row, ...]:
    """The rows of a stored dataset, to evaluate instead of rows in the request."""
    found = await datasets.get(org_id, dataset_id, with_rows=True) if datasets else None
    if found is None:
        raise NotFound("dataset", code="DATASET_NOT_FOUND")
    return found.rows


def within(cmd: SubmitEvaluation, max_rows: int) -> SubmitEvaluation:
    """`check`ed, and at most `max_rows` rows."""
    if len(cmd.rows) > max_rows:
        raise Invalid(
            "VALIDATION_ERROR",
            f"at most {max_rows} rows per evaluation",
            {"rows": len(cmd.rows), "max_rows": max_rows},
        )
    return check(cmd)


def check(cmd: SubmitEvaluation) -> SubmitEvaluation:
    """The command with each metric once, or UnknownMetrics / InvalidRows."""
    metrics = tuple(dict.fromkeys(cmd.metrics))  # the same metric twice is asked once
    if unknown := unknown_metrics(metrics):
        raise UnknownMetrics(unknown)
    if problems := row_problems(metrics, cmd.rows):
        raise InvalidRows(problems)
    return replace(cmd, metrics=metrics)


async def _predict(cmd: SubmitEvaluation, gates: Gatekeeping) -> tuple[Estimate | None, list[Any]]:
    try:
        return await gates.estimate(cmd), []
    except ServiceUnavailable as exc:
        if not gates.fail_open:
            raise
        log.warning("accepting without an estimate (fail open): %s", exc)
        return None, [{"code": "NOT_ESTIMATED", "message": str(exc)}]


async def _reserve(evaluation: Evaluation, gates: Gatekeeping) -> tuple[str | None, list[Any]]:
    if gates.budget is None or evaluation.estimated_cost is None:
        return None, []
    try:
        held = await gates.budget.reserve(
            org_id=evaluation.org_id,
            user_id=evaluation.user_id,
            project_id=evaluation.project_id,
            estimated_cost=evaluation.estimated_cost,
            evaluation_id=evaluation.id,
        )
    except ServiceUnavailable as exc:
        if not gates.fail_open:
            raise
        log.warning("accepting without a reservation (fail open): %s", exc)
        return None, [{"code": "BUDGET_NOT_CHECKED", "message": str(exc)}]
    return held.id, held.warnings


async def submit_evaluation(
    cmd: SubmitEvaluation, *, repo: EvaluationRepo, gates: Gatekeeping, now: datetime
) -> Evaluation:
    """Check, predict, reserve and store a new evaluation; the caller starts its run.

    A refusal of the ledger or the budget service (e.g. 409 BUDGET_EXCEEDED) is passed on;
    either one away is Unavailable, unless the gates fail open."""
    with passed_on():
        return await _submit(check(cmd), repo, gates, now)


async def estimate_evaluation(cmd: SubmitEvaluation, gates: Gatekeeping) -> Estimate:
    """The predicted cost of `cmd` (checked already), priced by the ledger."""
    with passed_on():
        return await gates.estimate(cmd)


async def _submit(
    cmd: SubmitEvaluation, repo: EvaluationRepo, gates: Gatekeeping, now: datetime
) -> Evaluation:
    with _phase("predict"):
        estimate, warnings = await _predict(cmd, gates)
    evaluation = Evaluation(
        id=uuid4(),
        org_id=cmd.org_id,
        project_id=cmd.project_id,
        user_id=cmd.user_id,
        metrics=cmd.metrics,
        judge=cmd.judge,
        rows_total=len(cmd.rows),
        created_at=now,
        name=cmd.name,
        dataset_id=cmd.dataset_id,
        estimated_cost=estimate.total if estimate else None,
        estimate=estimate.as_json() if estimate else None,
    )
    with _phase("reserve"):
        reservation_id, more = await _reserve(evaluation, gates)
    evaluation = replace(evaluation, reservation_id=reservation_id, warnings=tuple(warnings + more))
    try:
        with _phase("store"):
            await repo.create(evaluation, cmd.rows)
    except BaseException:
        if reservation_id and gates.budget:  # nothing will run: give the hold back
            await gates.budget.settle(
                org_id=cmd.org_id, user_id=cmd.user_id, reservation_id=reservation_id
            )
        raise
    return evaluation


async def find(
    repo: EvaluationRepo, org_id: str, evaluation_id: str, owner: str | None
) -> EvaluationState:
    """The evaluation (of `owner` only, when given); a malformed id names none."""
    try:
        key = UUID(evaluation_id)
    except ValueError as exc:  # names no evaluation: 404, like one of another organization
        raise NotFound("evaluation") from exc
    found = await repo.get(org_id, key, owner)
    if found is None:
        raise NotFound("evaluation")
    return found


async def cancel(repo: EvaluationRepo, state: EvaluationState) -> None:
    """Flag a queued or running evaluation to stop; Conflict when it already ended."""
    evaluation = state.evaluation
    if not await repo.request_cancel(evaluation.org_id, evaluation.id):
        raise Conflict("EVALUATION_FINISHED", f"evaluation is {evaluation.status}")


async def actual_cost(ledger: Ledger | None, state: EvaluationState) -> dict[str, Any]:
    """What the ledger recorded for the evaluation so far (an error note if it is away)."""
    if ledger is None:
        return {"actual": None}
    e = state.evaluation
    try:
        found = await ledger.evaluation_costs(
            org_id=e.org_id, user_id=e.user_id, evaluation_id=e.id
        )
    except ServiceUnavailable as exc:
        return {"actual": None, "actual_error": str(exc)}
    if found is None:
        return {"actual": "0", "ledger": None}
    return {"actual": found.get("total_cost"), "ledger": found}
