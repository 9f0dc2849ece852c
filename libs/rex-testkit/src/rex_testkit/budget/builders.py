"""Budgets for the budget service's unit and wiring tests, built in one line."""

from dataclasses import replace
from decimal import Decimal
from typing import Any
from uuid import UUID

from budget.domain.model import DEFAULT_THRESHOLDS, Budget


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
