"""A whole run against the simulator, stored in memory: scores, events, failures kept per row."""

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from evaluator.adapters.memory_store import InMemoryStore
from evaluator.domain.model import Judge, MetricOutcome, Row
from evaluator.handlers import SubmitEvaluation, submit_evaluation
from evaluator.ports import CallContext, ChatRequest, LlmClient, LlmReply, Unit
from evaluator.runner import RunDeps, run_evaluation
from rex_shared.events import EvaluationCompleted, LlmCallCompleted

F = "faithfulness"


async def _submit(
    store: InMemoryStore,
    org: str,
    rows: list[dict[str, Any]],
    provider: str = "openai",
    model: str = "gpt-4o-mini",
) -> UUID:
    cmd = SubmitEvaluation(
        org_id=org,
        project_id="proj",
        user_id="ann",
        metrics=(F,),
        judge=Judge(provider, model),  # type: ignore[arg-type]
        rows=tuple(
            Row(i, r["question"], tuple(r["contexts"]), r["answer"]) for i, r in enumerate(rows)
        ),
    )
    return (await submit_evaluation(cmd, repo=store, now=datetime.now(UTC))).id


def _calls(store: InMemoryStore) -> list[LlmCallCompleted]:
    return [e for e in store.outbox if isinstance(e, LlmCallCompleted)]


async def test_a_run_scores_every_row_and_emits_one_event_per_call(
    store: InMemoryStore,
    sim_clients: dict[str, LlmClient],
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    evaluation_id = await _submit(store, org, rows)
    await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients=sim_clients))
    state = await store.get(org, evaluation_id)
    assert state and state.evaluation.status == "completed" and state.rows_done == 3
    scores = {r.row_index: r.score for r in await store.results(evaluation_id)}
    assert scores[0] == 1 and scores[1] == 0.5 and scores[2] == 0
    assert state.scores[F] == 0.5
    calls = _calls(store)
    assert len(calls) == 6 and len({c.call_id for c in calls}) == 6
    assert all(
        c.evaluation_id == evaluation_id
        and c.metric == F
        and c.org_id == org
        and c.project_id == "proj"
        and c.user_id == "ann"
        for c in calls
    )
    [done] = [e for e in store.outbox if isinstance(e, EvaluationCompleted)]
    assert store.outbox[-1] is done
    assert (done.status, done.rows_done, done.calls) == ("completed", 3, 6)
    assert done.metrics[0].rows_scored == 3


async def test_a_provider_error_fails_only_that_rows_metric(
    store: InMemoryStore,
    sim_clients: dict[str, LlmClient],
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    rows[1]["answer"] = "It opened in 1889. [sim:fail:500]"
    evaluation_id = await _submit(store, org, rows)
    await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients=sim_clients))
    state = await store.get(org, evaluation_id)
    assert state and state.evaluation.status == "completed" and state.rows_done == 3
    failed = [r for r in await store.results(evaluation_id) if r.status == "failed"]
    assert [(r.row_index, r.score) for r in failed] == [(1, None)]
    assert failed[0].error and "judge call failed" in failed[0].error
    failed_calls = [c for c in _calls(store) if c.status == "failed"]
    assert len(failed_calls) == 1 and failed_calls[0].usage.input_tokens == 0
    assert state.scores[F] == 0.5  # the mean of the two scored rows


async def test_a_malformed_reply_is_asked_again_once(
    store: InMemoryStore,
    sim_clients: dict[str, LlmClient],
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    rows[0]["answer"] += " [sim:malformed:once]"
    evaluation_id = await _submit(store, org, rows[:1])
    await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients=sim_clients))
    [result] = await store.results(evaluation_id)
    assert result.status == "succeeded"
    steps = [(c.step, c.attempt) for c in store.calls(evaluation_id)]
    # The marker travels into the claims, so the verdicts step is broken once too.
    assert steps == [("claims", 0), ("claims", 1), ("verdicts", 0), ("verdicts", 1)]


async def test_a_reply_still_malformed_after_the_retry_fails_the_row_not_the_run(
    store: InMemoryStore,
    sim_clients: dict[str, LlmClient],
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    rows[0]["answer"] += " [sim:malformed]"
    evaluation_id = await _submit(store, org, rows[:2])
    await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients=sim_clients))
    results = {r.row_index: r for r in await store.results(evaluation_id)}
    assert results[0].status == "failed" and "malformed judge output" in (results[0].error or "")
    assert results[1].status == "succeeded"
    assert len([c for c in store.calls(evaluation_id) if c.row_index == 0]) == 2
    state = await store.get(org, evaluation_id)
    assert state and state.evaluation.status == "completed"


async def test_when_every_row_fails_the_evaluation_fails(
    store: InMemoryStore,
    sim_clients: dict[str, LlmClient],
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    for row in rows:
        row["answer"] += " [sim:fail:429]"
    evaluation_id = await _submit(store, org, rows)
    await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients=sim_clients))
    state = await store.get(org, evaluation_id)
    assert state and state.evaluation.status == "failed"
    assert state.error == "all 3 metric results failed"


async def test_an_anthropic_judge_runs_the_same_metric(
    store: InMemoryStore,
    sim_clients: dict[str, LlmClient],
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    evaluation_id = await _submit(store, org, rows, "anthropic", "claude-haiku-4-5")
    await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients=sim_clients))
    state = await store.get(org, evaluation_id)
    assert state and state.scores[F] == 0.5
    assert {(c.api, c.model) for c in _calls(store)} == {("messages", "claude-haiku-4-5-20251001")}


async def test_finished_units_are_not_judged_again(
    store: InMemoryStore,
    sim_clients: dict[str, LlmClient],
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    evaluation_id = await _submit(store, org, rows[:2])
    await store.record(Unit(evaluation_id, 0, F), None, MetricOutcome("succeeded"))
    await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients=sim_clients))
    assert {c.row_index for c in store.calls(evaluation_id)} == {1}


class _SlowClient:
    """Counts calls in flight; answers with an unusable reply after a pause."""

    provider = "openai"

    def __init__(self, inner: LlmClient) -> None:
        self.inner, self.in_flight, self.peak = inner, 0, 0

    async def complete(self, request: ChatRequest, ctx: CallContext) -> LlmReply:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01)
        try:
            return await self.inner.complete(request, ctx)
        finally:
            self.in_flight -= 1

    async def close(self) -> None: ...


async def test_no_more_calls_are_in_flight_than_the_concurrency_allows(
    store: InMemoryStore,
    sim_clients: dict[str, LlmClient],
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    slow = _SlowClient(sim_clients["openai"])
    evaluation_id = await _submit(store, org, rows * 4)
    await run_evaluation(
        evaluation_id, deps=RunDeps(store=store, clients={"openai": slow}, concurrency=3)
    )
    assert slow.peak == 3
    assert len(store.calls(evaluation_id)) == 24


class _BrokenStore(InMemoryStore):
    """Fails to store any call: a bug or a database gone mid-run."""

    async def record(self, unit: Unit, call: Any, outcome: MetricOutcome | None) -> None:
        raise RuntimeError("database gone")


async def test_an_unexpected_error_aborts_the_run_as_failed_with_the_reason(
    sim_clients: dict[str, LlmClient], org: str, rows: list[dict[str, Any]]
) -> None:
    store = _BrokenStore()
    evaluation_id = await _submit(store, org, rows)
    await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients=sim_clients))
    state = await store.get(org, evaluation_id)
    assert state and state.evaluation.status == "failed"
    assert state.error and "database gone" in state.error
    [done] = [e for e in store.outbox if isinstance(e, EvaluationCompleted)]
    assert done.status == "failed"
