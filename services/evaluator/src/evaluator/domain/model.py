"""The evaluation aggregate and the values a run works with."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

Provider = Literal["openai", "anthropic"]
EvaluationStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
ResultStatus = Literal["succeeded", "failed"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class Row:
    """One question/answer pair to judge, with its retrieved contexts."""

    index: int
    question: str
    contexts: tuple[str, ...]
    answer: str
    ground_truth: str | None = None

    @property
    def reference(self) -> str:
        """The ground truth when there is one (empty string otherwise)."""
        return (self.ground_truth or "").strip()


@dataclass(frozen=True)
class Judge:
    """The model that judges, and at which provider."""

    provider: Provider
    model: str


@dataclass(frozen=True)
class Evaluation:
    """What was asked: who pays, which metrics, which judge, how many rows."""

    id: UUID
    org_id: str
    project_id: str
    user_id: str
    metrics: tuple[str, ...]
    judge: Judge
    rows_total: int
    created_at: datetime
    name: str | None = None
    status: EvaluationStatus = "queued"
    dataset_id: UUID | None = None
    estimated_cost: Decimal | None = None
    estimate: Mapping[str, Any] | None = None
    warnings: tuple[Mapping[str, Any], ...] = ()
    reservation_id: str | None = None


@dataclass(frozen=True)
class JudgePrompt:
    """One judge call a metric needs next.

    `parse` turns the reply text into the step's output, or raises MalformedJudgeOutput.
    """

    step: str
    system: str
    user: str
    parse: Callable[[str], dict[str, Any]] = field(compare=False, repr=False)
    max_tokens: int = 2048
    expected_output: int = 0  # the reply's expected size in tokens (for cost predictions)


@dataclass(frozen=True)
class MetricOutcome:
    """A metric's final result for one row."""

    status: ResultStatus
    score: Decimal | None = None
    reasoning: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def failed(cls, error: str, reasoning: Mapping[str, Any] | None = None) -> "MetricOutcome":
        return cls("failed", None, reasoning or {}, error[:2000])


@dataclass(frozen=True)
class ResultSummary:
    """A stored metric result, as aggregation needs it."""

    row_index: int
    metric: str
    status: ResultStatus
    score: Decimal | None


@dataclass(frozen=True)
class Dataset:
    """An uploaded dataset (its rows only when asked for)."""

    id: UUID
    org_id: str
    user_id: str
    name: str
    rows_total: int
    size_bytes: int
    created_at: datetime
    rows: tuple[Row, ...] = ()


@dataclass(frozen=True)
class KeyInfo:
    """An organization's provider key as shown: never the key, only its last four characters."""

    provider: str
    last4: str
    kek_id: str
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class Quote:
    """The ledger's price of one call's usage."""

    total: Decimal
    price_id: str | None


@dataclass(frozen=True)
class Reservation:
    """A budget hold on an evaluation's estimated cost, with the budgets' warnings."""

    id: str
    held_amount: Decimal
    warnings: list[dict[str, Any]]
