"""Threshold crossings, severity and usage percent: exact decimals, table-driven."""

from decimal import Decimal as D

import pytest
from budget.domain.thresholds import (
    Threshold,
    canonical,
    crossed,
    severity,
    threshold_amount,
    usage_percent,
    valid_threshold,
)

DEFAULT = [D(50), D(80), D(90), D(100)]

CROSSINGS = [
    # (thresholds, limit, old, new, crossed)
    (DEFAULT, "100", "0", "49.999999999999999999", []),
    (DEFAULT, "100", "0", "50", ["50"]),
    (DEFAULT, "100", "49.99", "50", ["50"]),
    (DEFAULT, "100", "50", "60", []),  # reaching exactly 50 before counts as crossed then
    (DEFAULT, "100", "0", "100", ["50", "80", "90", "100"]),
    (DEFAULT, "100", "79", "95", ["80", "90"]),
    (DEFAULT, "100", "100", "250", []),
    (DEFAULT, "100", "60", "40", []),  # a decrease crosses nothing
    (DEFAULT, "100", "10", "10", []),
    (DEFAULT, "0.03", "0.0149999", "0.015", ["50"]),
    (DEFAULT, "0.000000000000000003", "0", "0.0000000000000000015", ["50"]),
    (DEFAULT, "0.000000000000000003", "0", "0.000000000000000001", []),
    ([D(150), D(200)], "10", "14.99", "15", ["150"]),
    ([D("12.5")], "8", "0", "1", ["12.5"]),
    ([D(100), D("100.0")], "1", "0", "1", ["100"]),  # equal thresholds fire once
    ([], "1", "0", "5", []),
    (
        DEFAULT,
        "99999999999999999999.999999999999999999",
        "0",
        "99999999999999999999.999999999999999999",
        ["50", "80", "90", "100"],
    ),
]


@pytest.mark.parametrize(("thresholds", "limit", "old", "new", "expected"), CROSSINGS)
def test_a_threshold_is_crossed_when_old_is_below_and_new_reaches_it(
    thresholds: list[D], limit: str, old: str, new: str, expected: list[str]
) -> None:
    percents = [Threshold("percent", t) for t in thresholds]
    result = crossed(percents, limit=D(limit), old=D(old), new=D(new))
    assert [t.value for t in result] == [D(e) for e in expected]


AMOUNTS = [
    # (percent thresholds, amount thresholds, limit, old, new, crossed as (basis, value))
    ([], ["25"], "100", "0", "25", [("amount", "25")]),
    ([], ["25"], "100", "25", "30", []),
    ([], ["150"], "100", "120", "150", [("amount", "150")]),  # past the limit: still fires
    ([50], ["40", "60"], "100", "0", "55", [("amount", "40"), ("percent", "50")]),
    ([50], ["50"], "100", "0", "50", [("amount", "50"), ("percent", "50")]),  # both, once each
    ([], ["0.000000000000000001"], "1", "0", "0.000000000000000001", [("amount", "1E-18")]),
]


@pytest.mark.parametrize(("percents", "amounts", "limit", "old", "new", "expected"), AMOUNTS)
def test_amount_thresholds_cross_at_their_dollar_value_lowest_first(
    percents: list[int],
    amounts: list[str],
    limit: str,
    old: str,
    new: str,
    expected: list[tuple[str, str]],
) -> None:
    ts = [Threshold("percent", D(p)) for p in percents] + [
        Threshold("amount", D(a)) for a in amounts
    ]
    result = crossed(ts, limit=D(limit), old=D(old), new=D(new))
    assert [(t.basis, t.value) for t in result] == [(b, D(v)) for b, v in expected]


@pytest.mark.parametrize(
    ("threshold", "limit", "amount", "percent"),
    [
        (Threshold("percent", D(80)), "250", "200", "80"),
        (Threshold("amount", D(200)), "250", "200", "80"),
        (Threshold("amount", D(1)), "3", "1", "33.333333333333333333"),
        (Threshold("amount", D(500)), "250", "500", "200"),
    ],
)
def test_a_threshold_reads_as_both_an_amount_and_a_percent_of_the_limit(
    threshold: Threshold, limit: str, amount: str, percent: str
) -> None:
    assert threshold.amount(D(limit)) == D(amount)
    assert threshold.percent(D(limit)) == D(percent)


@pytest.mark.parametrize(
    ("percent", "level"),
    [
        ("0.01", "info"),
        ("50", "info"),
        ("79.999999", "info"),
        ("80", "warning"),
        ("90", "warning"),
        ("99.99", "warning"),
        ("100", "critical"),
        ("100.0", "critical"),
        ("150", "critical"),
        ("1000", "critical"),
    ],
)
def test_severity_follows_the_threshold_percent(percent: str, level: str) -> None:
    assert severity(D(percent)) == level


@pytest.mark.parametrize(
    ("usage", "limit", "percent"),
    [
        ("50", "100", "50"),
        ("0", "100", "0"),
        ("1", "3", "33.333333333333333333"),
        ("2", "3", "66.666666666666666667"),
        ("0.015", "0.03", "50"),
        ("250", "100", "250"),
        ("0.000000000000000001", "1", "0.0000000000000001"),
        (
            "99999999999999999999.999999999999999999",
            "0.000000000000000001",
            "9999999999999999999999999999999999999900",
        ),
    ],
)
def test_usage_percent_is_exact_to_eighteen_places(usage: str, limit: str, percent: str) -> None:
    assert usage_percent(D(usage), D(limit)) == D(percent)
    assert format(usage_percent(D(usage), D(limit)), "f") == percent


def test_threshold_amount_is_exact_for_full_width_limits() -> None:
    limit = D("12345678901234567890.123456789012345678")
    assert threshold_amount(limit, D(50)) == D("6172839450617283945.061728394506172839")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("50.000", "50"),
        ("1E+2", "100"),
        ("0.000100", "0.0001"),
        ("0", "0"),
        ("-0.50", "-0.5"),
        ("12345678901234567890.123456789012345678", "12345678901234567890.123456789012345678"),
    ],
)
def test_canonical_drops_trailing_zeros_and_exponents(value: str, text: str) -> None:
    assert format(canonical(D(value)), "f") == text


@pytest.mark.parametrize(
    ("percent", "ok"),
    [
        ("0.0001", True),
        ("50", True),
        ("1000", True),
        ("0", False),
        ("-5", False),
        ("1000.0001", False),
        ("NaN", False),
        ("Infinity", False),
    ],
)
def test_thresholds_are_percents_above_zero_up_to_a_thousand(percent: str, ok: bool) -> None:
    assert valid_threshold(D(percent)) is ok
