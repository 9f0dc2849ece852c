"""In-memory evaluator storage with the same semantics as PostgreSQL, for wiring tests."""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from evaluator.domain.model import TERMINAL, Evaluation, MetricOutcome, ResultSummary, Row
from evaluator.ports import (
    EvaluationState,
    JudgeCall,
    RowResult,
    RunPlan,
    StoredReply,
    Summaries,
    Unit,
)
from rex_shared.events import Contract, EvaluationCompleted


@dataclass
class _Stored:
    state: EvaluationState
    rows: tuple[Row, ...]
    results: dict[tuple[int, str], MetricOutcome] = field(default_factory=dict)
    calls: list[JudgeCall] = field(default_factory=list)


class InMemoryStore:
    """Both `EvaluationRepo` and `RunStore`; `outbox` lists the events in commit order."""

    def __init__(self) -> None:
        self._items: dict[UUID, _Stored] = {}
        self.outbox: list[Contract] = []

    def calls(self, evaluation_id: UUID) -> list[JudgeCall]:
        """The judge calls stored for an evaluation, in order."""
        return list(self._items[evaluation_id].calls)

    async def create(self, evaluation: Evaluation, rows: Sequence[Row]) -> None:
        self._items[evaluation.id] = _Stored(EvaluationState(evaluation, 0), tuple(rows))

    async def get(
        self, org_id: str, evaluation_id: UUID, user_id: str | None = None
    ) -> EvaluationState | None:
        item = self._items.get(evaluation_id)
        if item is None or item.state.evaluation.org_id != org_id:
            return None
        if user_id is not None and item.state.evaluation.user_id != user_id:
            return None
        return replace(item.state, calls=len(item.calls))

    async def results(self, org_id: str, evaluation_id: UUID) -> list[RowResult]:
        item = self._items[evaluation_id]
        if item.state.evaluation.org_id != org_id:  # as row-level security: none of another org's
            return []
        return [
            RowResult(i, m, o.status, o.score, dict(o.reasoning), o.error)
            for (i, m), o in sorted(item.results.items())
        ]

    async def list(
        self,
        org_id: str,
        limit: int,
        after: tuple[datetime, UUID] | None,
        user_id: str | None = None,
    ) -> list[EvaluationState]:
        states = sorted(
            (
                i.state
                for i in self._items.values()
                if i.state.evaluation.org_id == org_id
                and (user_id is None or i.state.evaluation.user_id == user_id)
            ),
            key=lambda s: (s.evaluation.created_at, s.evaluation.id),
            reverse=True,
        )
        if after:
            states = [s for s in states if (s.evaluation.created_at, s.evaluation.id) < after]
        return states[:limit]

    async def request_cancel(self, org_id: str, evaluation_id: UUID) -> bool:
        item = self._items.get(evaluation_id)
        if item is None or item.state.evaluation.status in TERMINAL:
            return False
        item.state = replace(item.state, cancel_requested=True)
        return True

    async def start(self, evaluation_id: UUID, at: datetime) -> RunPlan | None:
        item = self._items.get(evaluation_id)
        if item is None or item.state.evaluation.status in TERMINAL:
            return None
        evaluation = replace(item.state.evaluation, status="running")
        item.state = replace(
            item.state, evaluation=evaluation, started_at=item.state.started_at or at
        )
        replies: dict[tuple[int, str], tuple[StoredReply, ...]] = {}
        for call in item.calls:
            key = (call.row_index, call.metric)
            if key not in item.results and call.reply.text is not None:
                replies[key] = (*replies.get(key, ()), StoredReply(call.step, call.reply.text))
        return RunPlan(
            evaluation, item.rows, frozenset(item.results), replies, item.state.cancel_requested
        )

    async def record(
        self, unit: Unit, call: JudgeCall | None, outcome: MetricOutcome | None
    ) -> bool:
        item = self._items[unit.evaluation_id]
        if call is not None:
            item.calls.append(call)
            self.outbox.append(call.reply.event)
        if outcome is not None:
            item.results.setdefault((unit.row_index, unit.metric), outcome)
            done = sum(1 for i, _ in item.results if i == unit.row_index)
            if done == len(item.state.evaluation.metrics):
                item.state = replace(item.state, rows_done=item.state.rows_done + 1)
        return item.state.cancel_requested

    async def summaries(self, evaluation_id: UUID) -> Summaries:
        item = self._items[evaluation_id]
        results = [ResultSummary(i, m, o.status, o.score) for (i, m), o in item.results.items()]
        calls: dict[str, int] = {}
        for call in item.calls:
            calls[call.metric] = calls.get(call.metric, 0) + 1
        return results, calls

    async def finish(
        self,
        evaluation_id: UUID,
        event: EvaluationCompleted,
        scores: dict[str, Decimal | None],
        error: str | None,
    ) -> None:
        item = self._items[evaluation_id]
        if item.state.evaluation.status != "running":
            return
        if item.state.cancel_requested:
            event = event.model_copy(update={"status": "cancelled"})
        evaluation = replace(item.state.evaluation, status=event.status)
        item.state = replace(
            item.state,
            evaluation=evaluation,
            error=error,
            completed_at=event.completed_at,
            scores={m: None if s is None else float(s) for m, s in scores.items()},
        )
        self.outbox.append(event)
