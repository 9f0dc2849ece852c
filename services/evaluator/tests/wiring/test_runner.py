"""A whole run against the simulator, stored in memory: scores, events, failures kept per row."""

import asyncio
import contextlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from evaluator.domain.model import Judge, MetricOutcome, Row
from evaluator.handlers.estimates import Estimate
from evaluator.handlers.evaluations import Gatekeeping, SubmitEvaluation, submit_evaluation
from evaluator.handlers.runs import RunDeps, run_evaluation
from evaluator.ports import ChatRequest, LlmClient, LlmReply, Unit
from rex_shared.events import EvaluationCompleted, LlmCallCompleted
from rex_testkit.evaluator.memory_store import InMemoryStore
from rex_tracking import CallContext

F = "faithfulness"


async def _free(cmd: SubmitEvaluation) -> Estimate:
    return Estimate(Decimal(0), {}, None)


FREE = Gatekeeping(_free, None)


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
    return (await submit_evaluation(cmd, repo=store, gates=FREE, now=datetime.now(UTC))).id


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
    scores = {r.row_index: r.score for r in await store.results(org, evaluation_id)}
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
    failed = [r for r in await store.results(org, evaluation_id) if r.status == "failed"]
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
    [result] = await store.results(org, evaluation_id)
    assert result.status == "succeeded"
    steps = [(c.step, c.attempt) for c in store.calls(evaluation_id)]
    # The marker travels into the claims, so the verdicts step is broken once too.
    assert steps == [("claims", 0), ("claims", 1), ("verdicts", 0), ("verdicts", 1)]
    # A reply that could not be read teaches nothing about reply sizes.
    sizes = [c.expected_output for c in store.calls(evaluation_id)]
    assert sizes[0] == sizes[2] == 0 and sizes[1] > 0 and sizes[3] > 0


async def test_a_reply_still_malformed_after_the_retry_fails_the_row_not_the_run(
    store: InMemoryStore,
    sim_clients: dict[str, LlmClient],
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    rows[0]["answer"] += " [sim:malformed]"
    evaluation_id = await _submit(store, org, rows[:2])
    await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients=sim_clients))
    results = {r.row_index: r for r in await store.results(org, evaluation_id)}
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

    async def record(self, unit: Unit, call: Any, outcome: MetricOutcome | None) -> bool:
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


ALL = ("faithfulness", "answer_relevancy", "context_precision", "context_recall",
       "answer_correctness")  # fmt: skip


async def _submit_all(store: InMemoryStore, org: str, rows: list[dict[str, Any]]) -> UUID:
    cmd = SubmitEvaluation(
        org_id=org, project_id="proj", user_id="ann", metrics=ALL,
        judge=Judge("openai", "gpt-4o-mini"),
        rows=tuple(
            Row(i, r["question"], tuple(r["contexts"]), r["answer"], "The tower is in Paris.")
            for i, r in enumerate(rows)
        ),
    )  # fmt: skip
    return (await submit_evaluation(cmd, repo=store, gates=FREE, now=datetime.now(UTC))).id


async def test_all_five_metrics_score_every_row_with_the_expected_calls(
    store: InMemoryStore, sim_clients: dict[str, LlmClient], org: str, rows: list[dict[str, Any]]
) -> None:
    evaluation_id = await _submit_all(store, org, rows)
    await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients=sim_clients))
    state = await store.get(org, evaluation_id)
    assert state and state.evaluation.status == "completed" and state.rows_done == 3
    results = await store.results(org, evaluation_id)
    assert len(results) == 15 and all(r.status == "succeeded" for r in results)
    assert all(r.score is None or 0 <= r.score <= 1 for r in results)
    assert set(state.scores) == set(ALL)
    per_metric = {m: sum(1 for c in store.calls(evaluation_id) if c.metric == m) for m in ALL}
    assert per_metric == {"faithfulness": 6, "answer_relevancy": 3, "context_precision": 3,
                          "context_recall": 3, "answer_correctness": 6}  # fmt: skip
    assert all(c.expected_output > 0 for c in store.calls(evaluation_id))
    # What each prompt was expected to weigh, to learn the model's actual/counted ratio.
    for call in store.calls(evaluation_id):
        actual = call.reply.event.usage.input_tokens
        assert 0.9 * actual <= call.expected_input <= actual
    recall = {r.row_index: r.score for r in results if r.metric == "context_recall"}
    assert recall == {0: 1, 1: 1, 2: 1}  # "The tower is in Paris." is in every context


class _Stalling:
    """Answers `limit` calls, then hangs (a process about to be stopped)."""

    provider = "openai"

    def __init__(self, inner: LlmClient, limit: int) -> None:
        self.inner, self.limit, self.asked = inner, limit, []
        self.stalled = asyncio.Event()

    async def complete(self, request: ChatRequest, ctx: CallContext) -> LlmReply:
        if len(self.asked) >= self.limit:
            self.stalled.set()
            await asyncio.Event().wait()
        self.asked.append((ctx.row_index, request.system.split("]")[0]))
        return await self.inner.complete(request, ctx)

    async def close(self) -> None: ...


async def test_a_resumed_run_does_not_pay_again_for_replies_it_has(
    store: InMemoryStore, sim_clients: dict[str, LlmClient], org: str, rows: list[dict[str, Any]]
) -> None:
    evaluation_id = await _submit(store, org, rows)
    first = _Stalling(sim_clients["openai"], limit=3)
    deps = RunDeps(store=store, clients={"openai": first}, concurrency=1)
    task = asyncio.create_task(run_evaluation(evaluation_id, deps=deps))
    await asyncio.wait_for(first.stalled.wait(), 10)
    assert len(store.calls(evaluation_id)) == 3
    task.cancel()  # the process stops mid-run
    with contextlib.suppress(asyncio.CancelledError):
        await task
    second = _Stalling(sim_clients["openai"], limit=100)
    await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients={"openai": second}))
    state = await store.get(org, evaluation_id)
    assert state and state.evaluation.status == "completed" and state.scores[F] == 0.5
    assert len(first.asked) + len(second.asked) == 6  # no call made twice
    assert (1, "[rex:faithfulness:claims") not in second.asked  # its claims were replayed
    assert len(_calls(store)) == 6


async def test_a_cancelled_run_starts_no_new_call_and_ends_cancelled(
    store: InMemoryStore, sim_clients: dict[str, LlmClient], org: str, rows: list[dict[str, Any]]
) -> None:
    evaluation_id = await _submit(store, org, rows * 3)
    settled: list[UUID] = []

    class _CancelAfterFirst(_Stalling):
        async def complete(self, request: ChatRequest, ctx: CallContext) -> LlmReply:
            reply = await super().complete(request, ctx)
            await store.request_cancel(org, evaluation_id)
            return reply

    async def settle(evaluation: Any) -> None:
        settled.append(evaluation.id)

    client = _CancelAfterFirst(sim_clients["openai"], limit=100)
    deps = RunDeps(store=store, clients={"openai": client}, concurrency=1, settle=settle)
    await run_evaluation(evaluation_id, deps=deps)
    state = await store.get(org, evaluation_id)
    assert state and state.evaluation.status == "cancelled"
    assert len(client.asked) == 1 and settled == [evaluation_id]
    [done] = [e for e in store.outbox if isinstance(e, EvaluationCompleted)]
    assert done.status == "cancelled" and done.calls == 1
