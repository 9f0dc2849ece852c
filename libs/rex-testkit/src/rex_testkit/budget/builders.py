"""Budgets and costs for the budget service's unit and wiring tests, built in one line."""

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID, uuid4

from budget.domain.model import DEFAULT_THRESHOLDS, Budget
from rex_shared.events import CostComponents, LlmCostRecorded, Usage


def a_budget(n: int = 1, type_: str = "organization", entity: str = "o1", **changes: Any) -> Budget:
    """Budget `b<n>` (id UUID(int=n)) of org o1: 10 a month, soft, default thresholds."""
    base = Budget(
        id=UUID(int=n),
        org_id="o1",
        name=f"b{n}",
        type=type_,  # type: ignore[arg-type]
        entity_id=entity,
        limit_amount=Decimal(10),
        period="monthly",
        timezone="UTC",
        thresholds=DEFAULT_THRESHOLDS,
        is_hard_limit=False,
    )
    return replace(base, **changes)


def a_cost(
    total: str,
    *,
    at: datetime,
    project: str = "p1",
    user: str = "u1",
    status: Literal["priced", "unpriced"] = "priced",
    evaluation: UUID | None = None,
) -> LlmCostRecorded:
    """An `llm.cost.recorded` of org o1 (openai gpt-4o) for `total` USD, occurred at `at`."""
    return LlmCostRecorded(
        call_id=uuid4(),
        evaluation_id=evaluation,
        org_id="o1",
        project_id=project,
        user_id=user,
        provider="openai",
        model="gpt-4o",
        status=status,
        usage=Usage(),
        cost=CostComponents(total=Decimal(total)),
        occurred_at=at,
        recorded_at=at,
    )
