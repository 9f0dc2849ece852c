"""Budget request bodies: what is accepted, normalized or refused (422)."""

from decimal import Decimal as D
from typing import Any

import pytest
from budget.entrypoints.http.schemas import BudgetIn, BudgetUpdate
from pydantic import ValidationError

VALID: dict[str, Any] = {
    "name": "team",
    "type": "project",
    "entity_id": "p1",
    "limit_amount": "100.50",
    "period": "monthly",
    "is_hard_limit": True,
}


def test_defaults_are_utc_and_the_four_usual_thresholds() -> None:
    body = BudgetIn.model_validate(VALID)
    assert body.timezone == "UTC"
    assert body.thresholds == [D(50), D(80), D(90), D(100)]
    assert body.limit_amount == D("100.5")


def test_thresholds_are_sorted_and_deduplicated() -> None:
    body = BudgetIn.model_validate({**VALID, "thresholds": ["90", 50, "50.0", "12.5"]})
    assert body.thresholds == [D("12.5"), D(50), D(90)]


def test_an_organization_budget_may_leave_out_its_entity() -> None:
    body = BudgetIn.model_validate({**VALID, "type": "organization", "entity_id": None})
    assert body.entity_id is None


@pytest.mark.parametrize(
    "change",
    [
        {"limit_amount": "0"},
        {"limit_amount": "-1"},
        {"limit_amount": 100.5},  # a float has already lost the exact value
        {"limit_amount": "NaN"},
        {"limit_amount": "Infinity"},
        {"limit_amount": "abc"},
        {"limit_amount": "100000000000000000000"},
        {"limit_amount": "0.0000000000000000001"},
        {"period": "hourly"},
        {"type": "team"},
        {"timezone": "Mars/Olympus"},
        {"timezone": "../../etc/passwd"},
        {"thresholds": [0]},
        {"thresholds": [-10]},
        {"thresholds": [1000.5]},
        {"thresholds": ["1000.0001"]},
        {"thresholds": list(range(1, 30))},
        {"name": ""},
        {"entity_id": None},
        {"is_hard_limit": None},
        {"unknown": 1},
        {"filters": {"vendor": ["x"]}},
    ],
)
def test_invalid_budgets_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BudgetIn.model_validate({**VALID, **change})


def test_an_update_names_only_what_changes() -> None:
    update = BudgetUpdate.model_validate({"limit_amount": "5", "thresholds": [75], "filters": None})
    assert update.changes() == {"limit_amount": D(5), "thresholds": (D(75),), "filters": None}


@pytest.mark.parametrize(
    "body",
    [
        {"type": "user"},
        {"entity_id": "p2"},
        {"limit_amount": None},
        {"name": None},
        {"limit_amount": "-3"},
    ],
)
def test_an_update_cannot_move_a_budget_or_null_its_fields(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BudgetUpdate.model_validate(body)
