"""Commands the API hands over: plain functions of (command, dependencies)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

from evaluator.domain.metrics.checks import row_problems, unknown_metrics
from evaluator.domain.model import Evaluation, Judge, Row
from evaluator.ports import EvaluationRepo


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


async def submit_evaluation(
    cmd: SubmitEvaluation, *, repo: EvaluationRepo, now: datetime
) -> Evaluation:
    """Check and store a new evaluation; the caller starts its run."""
    metrics = tuple(dict.fromkeys(cmd.metrics))  # the same metric twice is asked once
    if unknown := unknown_metrics(metrics):
        raise UnknownMetrics(unknown)
    if problems := row_problems(metrics, cmd.rows):
        raise InvalidRows(problems)
    evaluation = Evaluation(
        id=uuid4(),
        org_id=cmd.org_id,
        project_id=cmd.project_id,
        user_id=cmd.user_id,
        metrics=metrics,
        judge=cmd.judge,
        rows_total=len(cmd.rows),
        created_at=now,
        name=cmd.name,
    )
    await repo.create(evaluation, cmd.rows)
    return evaluation
