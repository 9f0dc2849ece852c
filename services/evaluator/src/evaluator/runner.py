"""Running an evaluation: every row x metric judged with bounded concurrency, then summed up.

A metric's failure stays on its row: a provider error or a judge reply that is still
malformed after one retry marks that (row, metric) failed, never the whole evaluation.
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from rex_shared.events import EvaluationCompleted

from evaluator.domain.aggregate import final_status, metric_means, metric_totals, rows_done
from evaluator.domain.judge_json import MalformedJudgeOutput
from evaluator.domain.metrics import METRICS, Metric
from evaluator.domain.model import Evaluation, JudgePrompt, MetricOutcome, Row
from evaluator.ports import (
    CallContext,
    ChatRequest,
    JudgeCall,
    LlmClient,
    RunPlan,
    RunStore,
    Unit,
)

log = logging.getLogger(__name__)

MALFORMED_RETRIES = 1  # per judge step


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunDeps:
    """What a run needs: storage, one client per provider, limits and a clock."""

    store: RunStore
    clients: Mapping[str, LlmClient]
    concurrency: int = 4
    max_tokens: int = 2048
    now: Callable[[], datetime] = utcnow


async def run_evaluation(evaluation_id: UUID, *, deps: RunDeps) -> None:
    """Judge every unfinished (row, metric), then record the totals and the completion event."""
    plan = await deps.store.start(evaluation_id, deps.now())
    if plan is None:
        return  # unknown, or already finished
    try:
        await _judge_all(plan, deps)
    except Exception as exc:  # a bug or the database gone: the run stops, the rows' work stays
        log.exception("evaluation %s aborted", evaluation_id)
        await finish(plan.evaluation, deps=deps, aborted=f"run aborted: {exc!r}"[:1000])
        return
    await finish(plan.evaluation, deps=deps)


async def _judge_all(plan: RunPlan, deps: RunDeps) -> None:
    evaluation, client = plan.evaluation, deps.clients[plan.evaluation.judge.provider]
    gate = asyncio.Semaphore(deps.concurrency)

    async def judge_one(row: Row, metric: Metric) -> None:
        async with gate:
            await judge_unit(evaluation, row, metric, client=client, deps=deps)

    # A TaskGroup cancels the siblings when one unit fails unexpectedly.
    async with asyncio.TaskGroup() as group:
        for row in plan.rows:
            for name in evaluation.metrics:
                if (row.index, name) not in plan.finished:
                    group.create_task(judge_one(row, METRICS[name]))


async def judge_unit(
    evaluation: Evaluation, row: Row, metric: Metric, *, client: LlmClient, deps: RunDeps
) -> None:
    """Walk one metric's judge steps on one row; each call is stored as it completes."""
    unit = Unit(evaluation.id, row.index, metric.name)
    outputs: list[dict[str, Any]] = []
    step = metric.advance(row, outputs)
    if isinstance(step, MetricOutcome):
        await deps.store.record(unit, None, step)  # decided without asking the judge
        return
    retries, attempt = MALFORMED_RETRIES, 0
    while isinstance(step, JudgePrompt):
        reply = await client.complete(_request(evaluation, step, deps), _context(evaluation, unit))
        call = JudgeCall(unit.evaluation_id, unit.row_index, unit.metric, step.step, attempt, reply)
        parsed, problem = _read(reply.text, step, reply.event.error)
        if parsed is not None:
            outputs.append(parsed)
            nxt, attempt, retries = metric.advance(row, outputs), 0, MALFORMED_RETRIES
        elif reply.text is not None and retries > 0:
            nxt, retries, attempt = step, retries - 1, attempt + 1  # malformed: ask once more
        else:
            nxt = MetricOutcome.failed(problem, {"outputs": outputs})
        await deps.store.record(unit, call, nxt if isinstance(nxt, MetricOutcome) else None)
        step = nxt


def _read(
    text: str | None, step: JudgePrompt, call_error: str | None
) -> tuple[dict[str, Any] | None, str]:
    if text is None:
        return None, f"judge call failed: {call_error}"
    try:
        return step.parse(text), ""
    except MalformedJudgeOutput as exc:
        return None, f"malformed judge output: {exc}"


def _request(evaluation: Evaluation, step: JudgePrompt, deps: RunDeps) -> ChatRequest:
    limit = min(step.max_tokens, deps.max_tokens)
    return ChatRequest(evaluation.judge.model, step.system, step.user, limit)


def _context(evaluation: Evaluation, unit: Unit) -> CallContext:
    return CallContext(
        call_id=uuid4(),
        org_id=evaluation.org_id,
        project_id=evaluation.project_id,
        user_id=evaluation.user_id,
        evaluation_id=evaluation.id,
        metric=unit.metric,
    )


async def finish(evaluation: Evaluation, *, deps: RunDeps, aborted: str | None = None) -> None:
    """Aggregate the stored results and complete the evaluation with its event."""
    results, calls = await deps.store.summaries(evaluation.id)
    status, error = ("failed", aborted) if aborted else final_status(results)
    event = EvaluationCompleted(
        evaluation_id=evaluation.id,
        org_id=evaluation.org_id,
        project_id=evaluation.project_id,
        user_id=evaluation.user_id,
        status=status,
        rows_total=evaluation.rows_total,
        rows_done=rows_done(evaluation.metrics, results),
        calls=sum(calls.values()),
        metrics=metric_totals(evaluation.metrics, results, calls),
        completed_at=deps.now(),
    )
    await deps.store.finish(evaluation.id, event, metric_means(evaluation.metrics, results), error)
