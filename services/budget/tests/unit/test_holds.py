"""Pre-flight verdicts: hard limits refuse, soft limits warn, holds count like usage."""

from dataclasses import replace
from decimal import Decimal as D
from uuid import UUID

import pytest
from budget.domain.holds import Standing, judge
from rex_testkit.budget.builders import a_budget

HARD = a_budget(1, name="hard", limit_amount=D(100), is_hard_limit=True)
SOFT = replace(HARD, id=UUID(int=2), name="soft", is_hard_limit=False)


@pytest.mark.parametrize(
    ("usage", "held", "estimate", "allowed"),
    [
        ("0", "0", "100", True),  # reaching the limit exactly fits
        ("0", "0", "100.000000000000000001", False),
        ("90", "0", "10", True),
        ("90", "0", "10.01", False),
        ("50", "40", "10", True),  # holds count like usage
        ("50", "40", "11", False),
        ("120", "0", "0", False),  # already over: nothing more fits, not even zero
        ("-5", "0", "105", True),  # refunds give room back
    ],
)
def test_a_hard_limit_refuses_when_usage_plus_holds_plus_estimate_passes_it(
    usage: str, held: str, estimate: str, allowed: bool
) -> None:
    verdict = judge([Standing(HARD, D(usage), D(held))], D(estimate))
    assert verdict.allowed is allowed
    assert [s.budget.name for s in verdict.exceeded] == ([] if allowed else ["hard"])


def test_a_soft_limit_never_refuses_but_warns_with_the_percent_after() -> None:
    verdict = judge([Standing(SOFT, D(95), D(0))], D(10))
    assert verdict.allowed
    [warning] = verdict.warnings
    assert (warning.budget.name, warning.usage_percent_after) == ("soft", D(105))
    assert "exceed the soft limit" in warning.message


def test_a_budget_brought_near_its_limit_warns_even_when_it_fits() -> None:
    verdict = judge([Standing(HARD, D(70), D(0)), Standing(SOFT, D(10), D(0))], D(15))
    assert verdict.allowed
    assert [(w.budget.name, w.usage_percent_after) for w in verdict.warnings] == [("hard", D(85))]


def test_every_exceeded_budget_is_listed() -> None:
    other = replace(HARD, id=UUID(int=3), name="other", limit_amount=D(5))
    verdict = judge([Standing(HARD, D(99), D(0)), Standing(other, D(0), D(0))], D(6))
    assert [s.budget.name for s in verdict.exceeded] == ["hard", "other"]


def test_no_budgets_allows_everything() -> None:
    verdict = judge([], D(1_000_000))
    assert verdict.allowed and verdict.warnings == []
