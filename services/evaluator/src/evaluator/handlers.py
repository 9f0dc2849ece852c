"""Commands the API hands over: plain functions of (command, dependencies)."""

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID, uuid4

from prometheus_client import Histogram

from evaluator.adapters.services import Refused, Reservation, ServiceUnavailable
from evaluator.domain.metrics.checks import row_problems, unknown_metrics
from evaluator.domain.model import Evaluation, Judge, Row
from evaluator.estimates import Estimate
from evaluator.ports import EvaluationRepo

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


class UnknownMetrics(Exception):
    """Metric names no metric is registered under."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"unknown metric(s): {', '.join(names)}")
        self.names = names


class InvalidRows(Exception):
    """Rows missing a field one of the metrics needs."""

    def __init__(self, problems: list[dict[str, object]]) -> None:
        first = problems[0]
        super().__init__(
            f"rows[{first['row']}].{first['field']} is required by {first['metric']}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        )
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


class Budget(Protocol):
    async def reserve(
        self,
        *,
        org_id: str,
        user_id: str,
        project_id: str,
        estimated_cost: Decimal,
        evaluation_id: UUID,
    ) -> Reservation: ...

    async def settle(self, *, org_id: str, user_id: str, reservation_id: str) -> None: ...


Estimator = Callable[[SubmitEvaluation], Awaitable[Estimate]]


@dataclass(frozen=True)
class Gatekeeping:
    """Prediction and budget reservation before a run; `fail_open` accepts when the ledger
    or the budget service is unreachable (with a warning) instead of refusing."""

    estimate: Estimator
    budget: Budget | None
    fail_open: bool = False


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

    Raises Refused (e.g. 409 BUDGET_EXCEEDED from the budget service) or ServiceUnavailable."""
    cmd = check(cmd)
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


__all__ = ["Refused", "ServiceUnavailable"]
