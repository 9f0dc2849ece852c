"""What the evaluator publishes: `llm.call.completed` for every judge call (built by
rex_tracking, as any tracked program's) and `evaluation.completed` when a run ends."""

from datetime import datetime
from uuid import UUID, uuid5

from rex_shared import cloudevents
from rex_shared.events import EvaluationCompleted, LlmCallCompleted
from rex_tracking import outgoing

from evaluator.config import SOURCE
from evaluator.domain.aggregate import FinalStatus, metric_totals, rows_done
from evaluator.domain.model import Evaluation, ResultSummary

# evaluation.completed ids are derived from the evaluation, so a re-sent event is the same one.
COMPLETED_NS = UUID("6f1c1b7e-3d0a-5d2e-9a57-2f6f0f6b7c11")


def completed_event_id(evaluation_id: UUID) -> str:
    return str(uuid5(COMPLETED_NS, f"evaluation.completed:{evaluation_id}"))


def evaluation_completed(
    evaluation: Evaluation,
    status: FinalStatus,
    results: list[ResultSummary],
    calls: dict[str, int],
    at: datetime,
) -> EvaluationCompleted:
    """The completion of `evaluation` with its totals per metric."""
    return EvaluationCompleted(
        evaluation_id=evaluation.id,
        org_id=evaluation.org_id,
        project_id=evaluation.project_id,
        user_id=evaluation.user_id,
        status=status,
        rows_total=evaluation.rows_total,
        rows_done=rows_done(evaluation.metrics, results),
        calls=sum(calls.values()),
        estimated_cost=evaluation.estimated_cost,
        metrics=metric_totals(evaluation.metrics, results, calls),
        completed_at=at,
    )


def completed_cloudevent(event: EvaluationCompleted) -> cloudevents.OutgoingEvent:
    """`evaluation.completed` on the wire: keyed by the organization, a stable id."""
    return cloudevents.build(
        event,
        source=SOURCE,
        key=event.org_id,
        event_id=completed_event_id(event.evaluation_id),
        time=event.completed_at,
    )


def call_cloudevent(event: LlmCallCompleted) -> cloudevents.OutgoingEvent:
    """`llm.call.completed` of a judge call, from the evaluator's source."""
    return outgoing(event, source=SOURCE)
