"""Request and reply bodies of the pre-flight check and reservations (the brief's contract)."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from rex_shared.money import Money

from budget.entrypoints.schemas import EntityId, amount


def _estimate(value: Decimal) -> Decimal:
    return amount(value, zero_ok=True)


Estimate = Annotated[Money, AfterValidator(_estimate)]


class CheckIn(BaseModel):
    """`POST /api/v1/budgets/check`: would this spend fit? (no side effects)"""

    model_config = ConfigDict(extra="forbid")

    project_id: EntityId
    user_id: EntityId
    estimated_cost: Estimate


class ReservationIn(CheckIn):
    """`POST /api/v1/budgets/reservations`: hold the estimate for an evaluation."""

    evaluation_id: UUID


class ExceededOut(BaseModel):
    budget_id: UUID
    budget_name: str
    limit_amount: Money
    usage_amount: Money
    held_amount: Money


class WarningOut(BaseModel):
    budget_id: UUID
    budget_name: str
    message: str
    usage_percent_after: Money


class CheckOut(BaseModel):
    allowed: bool
    exceeded: list[ExceededOut]
    warnings: list[WarningOut]


class ReservationOut(BaseModel):
    id: UUID
    evaluation_id: UUID
    status: Literal["active", "settled", "expired"]
    held_amount: Money
    expires_at: datetime
    budgets: list[UUID] = Field(description="The budgets the estimate is held against")
    warnings: list[WarningOut] = []
    estimated_cost: Money
    consumed_amount: Money = Field(description="Costs of the evaluation counted so far")
    project_id: str
    user_id: str
    created_at: datetime


class SettleOut(BaseModel):
    id: UUID
    status: Literal["active", "settled", "expired"]
    released_amount: Money
