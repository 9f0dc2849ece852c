"""`evaluation.completed`: an evaluation finished."""

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from rex_shared import topics
from rex_shared.events.base import Contract
from rex_shared.money import Money


class MetricTotals(BaseModel):
    """Per-metric summary inside `evaluation.completed`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    metric: str
    score: Decimal | None = None
    rows_scored: int = 0
    calls: int = 0


class EvaluationCompleted(Contract):
    """An evaluation finished (succeeded, failed or cancelled)."""

    topic: ClassVar[str] = topics.EVALUATION_COMPLETED

    evaluation_id: UUID
    org_id: str
    project_id: str
    user_id: str
    status: Literal["completed", "failed", "cancelled"]
    rows_total: int
    rows_done: int
    calls: int
    estimated_cost: Money | None = None
    metrics: list[MetricTotals] = []
    completed_at: datetime
