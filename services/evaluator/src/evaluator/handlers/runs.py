"""Running an evaluation: every row x metric judged with bounded concurrency, then summed up.

A metric's failure stays on its row: a provider error or a judge reply that is still
malformed after one retry marks that (row, metric) failed, never the whole evaluation.
A resumed run replays the replies it already paid for; a cancelled run starts no new call.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from rex_shared.clock import utcnow
from rex_tracking import CallContext

from evaluator.domain.aggregate import final_status, metric_means
from evaluator.domain.judge_json import MalformedJudgeOutput
from evaluator.domain.metrics import METRICS, Metric
from evaluator.domain.model import Evaluation, JudgePrompt, MetricOutcome, Row
from evaluator.domain.predict import TokenCounter
from evaluator.events import evaluation_completed
from evaluator.ports import (
    Budget,
    ChatRequest,
    ClientSource,
    JudgeCall,
    LlmClient,
    RunPlan,
    RunStore,
    StoredReply,
    Unit,
)

log = logging.getLogger(__name__)

MALFORMED_RETRIES = 1  # per judge step


async def _no_settle(_: Evaluation) -> None:
    return None


@dataclass(frozen=True)
class RunDeps:
    """What a run needs: storage, clients per provider (or per org), limits, a clock, and
    what to do once it ended (settle the budget reservation)."""

    store: RunStore
    clients: Mapping[str, LlmClient] | ClientSource
    concurrency: int = 4
    max_tokens: int = 2048
    now: Callable[[], datetime] = utcnow
    settle: Callable[[Evaluation], Awaitable[None]] = _no_settle
    # Set at shutdown: runs start no new call, let calls in flight finish and be stored, and
    # stop without finishing (the next instance resumes them).
    halt: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Run:
    plan: RunPlan
    client: LlmClient
    deps: RunDeps
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def _client(deps: RunDeps, evaluation: Evaluation) -> LlmClient:
    if isinstance(deps.clients, Mapping):
        return deps.clients[evaluation.judge.provider]
    return await deps.clients.client(evaluation.org_id, evaluation.judge.provider)


async def run_evaluation(evaluation_id: UUID, *, deps: RunDeps) -> None:
    """Judge every unfinished (row, metric), then record the totals and the completion event."""
    plan = await deps.store.start(evaluation_id, deps.now())
    if plan is None:
        return  # unknown, finished, or run by another instance
    try:
        run = _Run(plan, await _client(deps, plan.evaluation), deps)
        if not plan.cancelled:
            await _judge_all(run)
        if deps.halt.is_set():
            return
    except Exception as exc:  # a bug or the database gone: the run stops, the rows' work stays
        log.exception("evaluation %s aborted", evaluation_id)
        await finish(plan.evaluation, deps=deps, aborted=f"run aborted: {exc!r}"[:1000])
        return
    await finish(plan.evaluation, deps=deps)


async def _judge_all(run: _Run) -> None:
    gate = asyncio.Semaphore(run.deps.concurrency)

    async def judge_one(row: Row, metric: Metric) -> None:
        async with gate:
            if not (run.stop.is_set() or run.deps.halt.is_set()):
                await judge_unit(run, row, metric)

    # A TaskGroup cancels the siblings when one unit fails unexpectedly.
    async with asyncio.TaskGroup() as group:
        for row in run.plan.rows:
            for name in run.plan.evaluation.metrics:
                if (row.index, name) not in run.plan.finished:
                    group.create_task(judge_one(row, METRICS[name]))


async def _record(
    run: _Run, unit: Unit, call: JudgeCall | None, outcome: MetricOutcome | None
) -> None:
    if await run.deps.store.record(unit, call, outcome):
        run.stop.set()  # cancelled: calls in flight finish and are stored, no new one starts


async def judge_unit(run: _Run, row: Row, metric: Metric) -> None:
    """Walk one metric's judge steps on one row; each call is stored as it completes."""
    unit = Unit(run.plan.evaluation.id, row.index, metric.name)
    stored = list(run.plan.replies.get((row.index, metric.name), ()))
    outputs: list[dict[str, Any]] = []
    step = metric.advance(row, outputs)
    if isinstance(step, MetricOutcome):
        await _record(run, unit, None, step)  # decided without asking the judge
        return
    retries, attempt = MALFORMED_RETRIES, 0
    while isinstance(step, JudgePrompt):
        if run.stop.is_set() or run.deps.halt.is_set():
            return  # cancelled or shutting down between steps: the unit stays unfinished
        text, error, call = await _ask(run, unit, step, attempt, stored)
        parsed, problem = _read(text, step, error)
        if parsed is not None:
            outputs.append(parsed)
            nxt, attempt, retries = metric.advance(row, outputs), 0, MALFORMED_RETRIES
        elif text is not None and retries > 0:
            nxt, retries, attempt = step, retries - 1, attempt + 1  # malformed: ask once more
        else:
            nxt = MetricOutcome.failed(problem, {"outputs": outputs})
        outcome = nxt if isinstance(nxt, MetricOutcome) else None
        if call is not None and parsed is None:
            call = replace(call, expected_output=0)  # an unusable reply teaches no size
        if call is not None or outcome is not None:
            await _record(run, unit, call, outcome)
        step = nxt


async def _ask(
    run: _Run, unit: Unit, step: JudgePrompt, attempt: int, stored: list[StoredReply]
) -> tuple[str | None, str | None, JudgeCall | None]:
    """(reply text, call error, the new call to store): a reply already paid for when the
    run resumes, else a new call."""
    if stored and stored[0].step == step.step:
        return stored.pop(0).text, None, None
    stored.clear()  # the replay diverged: ask from here on
    evaluation = run.plan.evaluation
    request = _request(evaluation, step, run.deps)
    reply = await run.client.complete(request, _context(evaluation, unit))
    call = JudgeCall(
        unit.evaluation_id,
        unit.row_index,
        unit.metric,
        step.step,
        attempt,
        reply,
        expected_output=step.expected_output,
        expected_input=TokenCounter(evaluation.judge, Decimal(1)).prompt(step),
    )
    return reply.text, reply.event.error, call


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
        row_index=unit.row_index,
    )


async def finish(evaluation: Evaluation, *, deps: RunDeps, aborted: str | None = None) -> None:
    """Aggregate the stored results, complete the evaluation with its event, settle."""
    results, calls = await deps.store.summaries(evaluation.id)
    status, error = ("failed", aborted) if aborted else final_status(results)
    event = evaluation_completed(evaluation, status, results, calls, deps.now())
    await deps.store.finish(evaluation.id, event, metric_means(evaluation.metrics, results), error)
    try:
        await deps.settle(evaluation)
    except Exception as exc:  # the settler loop tries again later
        log.warning("settling evaluation %s failed: %s", evaluation.id, exc)


async def settle_reservation(
    evaluation: Evaluation, *, budget: Budget, mark_settled: Callable[[UUID], Awaitable[None]]
) -> None:
    """Give an ended evaluation's budget hold back, then remember it is settled."""
    if evaluation.reservation_id:
        await budget.settle(
            org_id=evaluation.org_id,
            user_id=evaluation.user_id,
            reservation_id=evaluation.reservation_id,
        )
    await mark_settled(evaluation.id)
