"""Which budgets a call counts against, and how a batch is summed per (budget, period)."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from budget.domain.model import Budget, Payer, covers
from budget.domain.periods import PeriodBounds
from budget.domain.usage import Charge, Cost, charges, period_status
from rex_testkit.budget.builders import a_budget as _budget

T0 = datetime(2024, 5, 10, 12, tzinfo=UTC)
PAYER = Payer(
    org_id="o1",
    project_id="p1",
    user_id="u1",
    provider="openai",
    model="gpt-4o",
    metric="faithfulness",
)


COVERAGE = [
    # (budget, covered?)
    (_budget(1, "organization", "o1"), True),
    (_budget(2, "project", "p1"), True),
    (_budget(3, "user", "u1"), True),
    (_budget(4, "project", "p2"), False),
    (_budget(5, "user", "u2"), False),
    (_budget(6, "user", "p1"), False),  # an id of the wrong kind does not count
    (_budget(7, "organization", "o1", org_id="o2"), False),
    (_budget(8, "organization", "o1", archived_at=T0), False),
    (_budget(9, "project", "p1", filters={"provider": ["openai"]}), True),
    (_budget(10, "project", "p1", filters={"provider": ["anthropic"]}), False),
    (_budget(11, "project", "p1", filters={"model": ["gpt-4o"], "metric": ["faithfulness"]}), True),
    (_budget(12, "project", "p1", filters={"metric": ["answer_relevancy"]}), False),
    (_budget(13, "project", "p1", filters={"provider": []}), True),  # empty list: any
]


@pytest.mark.parametrize(("budget", "expected"), COVERAGE)
def test_a_call_counts_against_the_budgets_naming_its_org_project_or_user(
    budget: Budget, expected: bool
) -> None:
    assert covers(budget, PAYER) is expected


def test_a_batch_is_summed_once_per_budget_and_period_in_lock_order() -> None:
    org, project, other_user = (
        _budget(9, "organization"),
        _budget(3, "project", "p1"),
        _budget(5, "user", "u9"),
    )
    costs = [
        Cost(PAYER, D("0.1"), T0),
        Cost(PAYER, D("0.000000000000000001"), T0),
        Cost(PAYER, D("0.2"), datetime(2024, 4, 30, 23, 59, tzinfo=UTC)),  # April
        Cost(replace(PAYER, user_id="u9"), D("1"), T0),
    ]
    result = charges(costs, [org, project, other_user])
    summary = [(c.budget.id.int, c.period.start.month, c.amount, c.events) for c in result]
    assert summary == [
        (3, 4, D("0.2"), 1),
        (3, 5, D("1.100000000000000001"), 3),  # u9 works in project p1 too
        (5, 5, D("1"), 1),
        (9, 4, D("0.2"), 1),
        (9, 5, D("1.100000000000000001"), 3),
    ]


def test_sums_stay_exact_beyond_the_default_decimal_precision() -> None:
    big, tiny = D("12345678901234567890"), D("0.000000000000000001")
    [charge] = charges([Cost(PAYER, big, T0), Cost(PAYER, tiny, T0)], [_budget(1)])
    assert charge.amount == D("12345678901234567890.000000000000000001")


def test_nothing_is_charged_without_a_covering_budget() -> None:
    assert charges([Cost(PAYER, D(1), T0)], [_budget(1, "project", "p2")]) == []


def _charge(amount: str, limit: str = "10") -> Charge:
    bounds = PeriodBounds(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))
    return Charge(_budget(1, limit_amount=D(limit)), bounds, D(amount), 1)


@pytest.mark.parametrize(
    ("usage", "percent", "remaining"),
    [("0", "0", "10"), ("2.5", "25", "7.5"), ("10", "100", "0"), ("12", "120", "0")],
)
def test_period_status_reports_percent_and_what_remains(
    usage: str, percent: str, remaining: str
) -> None:
    charge = _charge("0")
    status = period_status(charge.budget, charge.period, D(usage), 3)
    assert (status.usage_amount, status.usage_percent, status.remaining, status.events) == (
        D(usage),
        D(percent),
        D(remaining),
        3,
    )
