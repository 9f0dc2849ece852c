"""The shapes of `data` in the success replies, as `views.py` builds them (OpenAPI only).

The routes document these with `rex_shared.api.documented` and keep returning the views'
plain dicts, so the bytes on the wire are the views' own. The unit tests
validate view output against these models (extra fields forbidden) and the wiring and
integration clients check every success reply against the document, so a view and its model
cannot drift apart. Money is an exact decimal string, never a JSON number.
"""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from rex_shared.api import DecimalText as DecimalString

from evaluator.domain.model import EvaluationStatus, Provider, ResultStatus


class _Reply(BaseModel):
    """Exactly the fields a view emits: an unknown one is an error (in the tests)."""

    model_config = ConfigDict(extra="forbid")


class _Passed(BaseModel):
    """An object another service made and the evaluator passes on: known fields, others kept."""

    model_config = ConfigDict(extra="allow")


class JudgeOut(_Reply):
    provider: Provider
    model: str


class WarningOut(_Passed):
    """From the evaluator (`code`: NOT_ESTIMATED, BUDGET_NOT_CHECKED) or the budget service
    (a budget near its limit: `budget_id`, `budget_name`, `usage_percent_after`)."""

    message: str
    code: str | SkipJsonSchema[None] = None
    budget_id: str | SkipJsonSchema[None] = None
    budget_name: str | SkipJsonSchema[None] = None
    usage_percent_after: DecimalString | SkipJsonSchema[None] = None


class UsageOut(_Reply):
    """One average call of a step, in canonical usage (`rex_shared.events.Usage`)."""

    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    reasoning_tokens: int
    input_audio_tokens: int
    output_audio_tokens: int
    web_search_requests: int


class StepEstimate(_Reply):
    calls: int
    estimated_cost: DecimalString
    per_call: UsageOut


class MetricEstimate(_Reply):
    estimated_cost: DecimalString
    calls: int
    input_tokens: int
    output_tokens: int
    steps: dict[str, StepEstimate] = Field(description="Per judge step of the metric")


class EstimateOut(_Reply):
    """The predicted cost of an evaluation and how it breaks down per metric."""

    estimated_cost: DecimalString
    currency: Literal["USD"]
    price_id: str | None
    metrics: dict[str, MetricEstimate]


class EstimateReply(EstimateOut):
    """`POST /api/v1/evaluations/estimate`."""

    rows: int
    judge: JudgeOut


class Submitted(_Reply):
    """`POST /api/v1/evaluations` (202): accepted and queued."""

    id: UUID
    status: Literal["queued"]
    estimated_cost: DecimalString | None = Field(description="null when not estimated")
    estimate: EstimateOut | None
    reservation_id: str | None
    warnings: list[WarningOut]


class EvaluationSummary(_Reply):
    """An evaluation without its rows (lists, progress)."""

    id: UUID
    name: str | None
    project_id: str
    user_id: str
    dataset_id: UUID | None
    status: EvaluationStatus
    cancel_requested: bool
    metrics: list[str]
    judge: JudgeOut
    rows_total: int
    rows_done: int
    progress: float = Field(description="rows_done / rows_total, 4 decimals")
    calls: int
    scores: dict[str, float | None] = Field(description="Mean score per metric")
    estimated_cost: DecimalString | None
    warnings: list[WarningOut]
    reservation_id: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class CostOut(_Reply):
    estimated: DecimalString | None
    estimate: EstimateOut | None
    actual: DecimalString | None = Field(
        description="The ledger's total so far; null when the ledger is not reachable"
    )
    ledger: dict[str, Any] | None = Field(
        None,
        description="The ledger's account (GET /api/v1/costs/evaluations/{id} of the "
        "cost-ledger); null when it has none yet, absent when the ledger was not asked",
    )
    actual_error: str | SkipJsonSchema[None] = Field(
        None, description="Present only when the ledger could not be reached"
    )


class MetricResult(_Reply):
    status: ResultStatus
    score: float | None
    error: str | None
    reasoning: dict[str, Any] = Field(description="The judge's reasoning, per metric")


class RowResults(_Reply):
    row_index: int
    results: dict[str, MetricResult] = Field(description="Per metric")


class EvaluationOut(EvaluationSummary):
    """`GET /api/v1/evaluations/{id}`: with costs and each row's results."""

    cost: CostOut
    rows: list[RowResults]


class EvaluationPage(_Reply):
    items: list[EvaluationSummary]
    next_cursor: str | None


class Cancelling(_Reply):
    id: str = Field(description="The evaluation id as given in the path")
    status: Literal["cancelling"]


class DatasetRow(_Reply):
    question: str
    contexts: list[str]
    answer: str
    ground_truth: str | None


class DatasetOut(_Reply):
    id: UUID
    name: str
    user_id: str
    rows_total: int
    size_bytes: int
    created_at: datetime


class DatasetDetail(DatasetOut):
    """`GET /api/v1/datasets/{id}`."""

    rows: list[DatasetRow] | SkipJsonSchema[None] = Field(
        None, description="Absent with ?rows=false"
    )


class DatasetPage(_Reply):
    items: list[DatasetOut]
    next_cursor: str | None


class KeyOut(_Reply):
    """A provider key's metadata; the key itself never leaves."""

    provider: Provider
    last4: str
    kek_id: str
    updated_by: str
    updated_at: datetime


class KeyList(_Reply):
    items: list[KeyOut]


class KeysRotated(_Reply):
    rotated: int = Field(description="How many keys were re-encrypted with the primary KEK")


class KeyDeleted(_Reply):
    provider: Provider
    deleted: Literal[True]
