"""The interfaces handlers depend on; adapters implement them, tests fake them."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from rex_shared.events import EvaluationCompleted, LlmCallCompleted, Usage
from rex_tracking import CallContext

from evaluator.domain.model import (
    Dataset,
    Evaluation,
    KeyInfo,
    MetricOutcome,
    Quote,
    Reservation,
    ResultSummary,
    Row,
)
from evaluator.domain.predict import Step


@dataclass(frozen=True)
class ChatRequest:
    """A system prompt and one user message for `model`."""

    model: str
    system: str
    user: str
    max_tokens: int = 2048


@dataclass(frozen=True)
class LlmReply:
    """The answer (None when the call failed) and the call's event."""

    text: str | None
    event: LlmCallCompleted


class LlmClient(Protocol):
    """A provider's chat API; every call returns its event, failures included."""

    provider: str

    async def complete(self, request: ChatRequest, ctx: CallContext) -> LlmReply: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class StoredReply:
    """A judge reply already paid for (kept to resume a run without paying twice)."""

    step: str
    text: str


@dataclass(frozen=True)
class RunPlan:
    """An evaluation about to run: its rows, the (row, metric) pairs already finished, and
    the replies of unfinished ones (a resumed run replays them instead of asking again)."""

    evaluation: Evaluation
    rows: tuple[Row, ...]
    finished: frozenset[tuple[int, str]] = frozenset()
    replies: Mapping[tuple[int, str], tuple[StoredReply, ...]] = field(default_factory=dict)
    cancelled: bool = False


class ClientSource(Protocol):
    """The LLM client for an organization and provider (the org's own key when it has one)."""

    async def client(self, org_id: str, provider: str) -> LlmClient: ...


@dataclass(frozen=True)
class JudgeCall:
    """One judge call of one metric on one row, to store with its event."""

    evaluation_id: UUID
    row_index: int
    metric: str
    step: str
    attempt: int
    reply: LlmReply
    expected_output: int = 0
    expected_input: int = 0  # counted locally, no provider factor (to learn the real ratio)


@dataclass(frozen=True)
class Unit:
    """One metric on one row."""

    evaluation_id: UUID
    row_index: int
    metric: str


Summaries = tuple[list[ResultSummary], dict[str, int]]  # the results, judge calls per metric


class RunStore(Protocol):
    """What a run reads and writes; each call is stored with its event in one transaction."""

    async def start(self, evaluation_id: UUID, at: datetime) -> RunPlan | None: ...

    async def record(
        self, unit: Unit, call: JudgeCall | None, outcome: MetricOutcome | None
    ) -> bool:
        """Store a call and/or an outcome; True when the evaluation was asked to stop."""
        ...

    async def summaries(self, evaluation_id: UUID) -> Summaries: ...

    async def finish(
        self,
        evaluation_id: UUID,
        event: EvaluationCompleted,
        scores: dict[str, Decimal | None],
        error: str | None,
    ) -> None: ...


@dataclass(frozen=True)
class EvaluationState:
    """An evaluation as stored, with progress and results."""

    evaluation: Evaluation
    rows_done: int
    scores: dict[str, float | None] = field(default_factory=dict)
    error: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    cancel_requested: bool = False
    settled_at: datetime | None = None
    calls: int = 0


@dataclass(frozen=True)
class RowResult:
    """One metric's result on one row."""

    row_index: int
    metric: str
    status: str
    score: Decimal | None
    reasoning: dict[str, Any]
    error: str | None


class EvaluationRepo(Protocol):
    """Evaluations as the API sees them, always scoped to an organization."""

    async def create(self, evaluation: Evaluation, rows: Sequence[Row]) -> None: ...

    async def get(
        self, org_id: str, evaluation_id: UUID, user_id: str | None = None
    ) -> EvaluationState | None: ...  # of `user_id` only, when given

    async def results(self, org_id: str, evaluation_id: UUID) -> list[RowResult]: ...

    async def list(
        self,
        org_id: str,
        limit: int,
        after: tuple[datetime, UUID] | None,
        user_id: str | None = None,
    ) -> list[EvaluationState]: ...

    async def request_cancel(self, org_id: str, evaluation_id: UUID) -> bool:
        """Flag a queued or running evaluation to stop; False when it already ended."""
        ...


class ServiceUnavailable(Exception):
    """The ledger or the budget service did not answer usably."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} unavailable: {reason}")
        self.service, self.reason = service, reason


class Refused(Exception):
    """The service answered with an error envelope the caller must pass on (4xx)."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", "refused"))
        self.status, self.error = status, error


class Quoter(Protocol):
    async def estimate(
        self, *, org_id: str, user_id: str, provider: str, model: str, usage: Usage
    ) -> Quote: ...


class Ledger(Quoter, Protocol):
    async def evaluation_costs(  # None: nothing recorded yet
        self, *, org_id: str, user_id: str, evaluation_id: UUID
    ) -> dict[str, Any] | None: ...


History = Callable[[str], Awaitable[Mapping[Step, Decimal]]]  # a model's learned step ratios


class Budget(Protocol):
    """The budget service: hold an evaluation's estimated cost, give the hold back."""

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


class DatasetRepo(Protocol):
    async def create(self, dataset: Dataset) -> None: ...

    async def get(self, org_id: str, dataset_id: UUID, *, with_rows: bool) -> Dataset | None: ...

    async def list(
        self, org_id: str, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[Dataset]: ...


class KeyRepo(Protocol):
    async def put(self, org_id: str, provider: str, key: str, *, by: str) -> KeyInfo: ...

    async def list(self, org_id: str) -> list[KeyInfo]: ...

    async def delete(self, org_id: str, provider: str) -> bool: ...

    async def rotate(self, org_id: str) -> int: ...


class Leases(Protocol):  # this instance's leases on the runs it holds
    async def renew(self, ids: list[UUID]) -> None: ...
    async def resumable(self, limit: int = 100) -> list[UUID]: ...
    async def unsettled(self, limit: int = 100) -> list[Evaluation]: ...
