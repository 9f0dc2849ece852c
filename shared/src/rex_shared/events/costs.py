"""What a call cost: `llm.call.completed` (evaluator) and `llm.cost.recorded` (cost-ledger)."""

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from rex_shared import topics
from rex_shared.events.base import Contract, Usage
from rex_shared.money import Money

Api = Literal["chat.completions", "responses", "messages"]
CallStatus = Literal["succeeded", "failed"]


class LlmCallCompleted(Contract):
    """One provider call, succeeded or failed, with its exact usage."""

    topic: ClassVar[str] = topics.LLM_CALL_COMPLETED

    call_id: UUID
    evaluation_id: UUID | None = None
    metric: str | None = None
    org_id: str = Field(min_length=1, max_length=200)
    project_id: str = Field(min_length=1, max_length=200)
    user_id: str = Field(min_length=1, max_length=200)
    provider: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=200, description="As returned by the provider")
    requested_model: str = Field(min_length=1, max_length=200)
    api: Api
    started_at: datetime
    completed_at: datetime
    latency_ms: int = Field(ge=0)
    status: CallStatus
    error: str | None = None
    service_tier: str | None = None
    batch: bool = False
    usage: Usage
    raw_usage: dict[str, object] | None = None
    provider_request_id: str | None = None
    row_index: int | None = Field(
        None, ge=0, description="The dataset row (QA pair) the call judged, when it judged one"
    )


class CostComponents(BaseModel):
    """Cost per usage component; `total` is their exact sum."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    input: Money = Decimal(0)
    cache_read: Money = Decimal(0)
    cache_write: Money = Decimal(0)
    output: Money = Decimal(0)
    input_audio: Money = Decimal(0)
    output_audio: Money = Decimal(0)
    web_search: Money = Decimal(0)
    total: Money = Decimal(0)


class LlmCostRecorded(Contract):
    """A priced (or unpriced) call, as the ledger recorded it."""

    topic: ClassVar[str] = topics.LLM_COST_RECORDED

    call_id: UUID
    evaluation_id: UUID | None = None
    metric: str | None = None
    org_id: str
    project_id: str
    user_id: str
    provider: str
    model: str
    status: Literal["priced", "unpriced"]
    call_status: CallStatus = "succeeded"
    usage: Usage
    cost: CostComponents
    currency: Literal["USD"] = "USD"
    price_id: str | None = None
    occurred_at: datetime
    recorded_at: datetime
    entry_kind: Literal["charge", "adjustment"] = Field(
        "charge",
        description="charge: the call's first pricing; adjustment: a later correction whose"
        " `cost` and `usage` are DELTAS to add to what was recorded before for `call_id`",
    )
    adjusts_call_id: UUID | None = Field(
        None, description="For an adjustment: the call whose recorded cost it corrects"
    )
    adjustment_id: UUID | None = None
