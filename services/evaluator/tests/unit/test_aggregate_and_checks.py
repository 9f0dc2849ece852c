"""Summaries, final status and submit-time checks."""

from decimal import Decimal

import pytest
from evaluator.domain.aggregate import final_status, metric_means, metric_totals, rows_done
from evaluator.domain.metrics.checks import row_problems, unknown_metrics
from evaluator.domain.model import ResultSummary, Row

F = "faithfulness"


def _r(row: int, score: str | None, status: str = "succeeded", metric: str = F) -> ResultSummary:
    return ResultSummary(row, metric, status, None if score is None else Decimal(score))  # type: ignore[arg-type]


def test_the_mean_skips_rows_without_a_score() -> None:
    results = [_r(0, "1"), _r(1, "0.5"), _r(2, None), _r(3, None, "failed")]
    assert metric_means([F], results) == {F: Decimal("0.75")}


def test_a_metric_no_row_scored_has_no_mean() -> None:
    assert metric_means([F, "other"], [_r(0, None, "failed")]) == {F: None, "other": None}


def test_totals_count_scored_rows_and_calls() -> None:
    [totals] = metric_totals([F], [_r(0, "1"), _r(1, None, "failed")], {F: 5})
    assert (totals.score, totals.rows_scored, totals.calls) == (Decimal(1), 1, 5)


@pytest.mark.parametrize(
    ("results", "status"),
    [
        ([_r(0, "1"), _r(1, None, "failed")], "completed"),
        ([_r(0, None, "failed"), _r(1, None, "failed")], "failed"),
        ([], "completed"),
    ],
)
def test_a_run_fails_only_when_every_result_failed(
    results: list[ResultSummary], status: str
) -> None:
    assert final_status(results)[0] == status


def test_a_row_is_done_when_every_metric_has_a_result() -> None:
    results = [_r(0, "1"), _r(0, "1", metric="m2"), _r(1, "1")]
    assert rows_done([F, "m2"], results) == 1


def test_unknown_metrics_are_named_in_order() -> None:
    assert unknown_metrics(["nope", F, "bad"]) == ["nope", "bad"]


def test_row_problems_name_the_row_field_and_metric() -> None:
    rows = [Row(0, "q", ("c",), "a"), Row(1, "q", (), "a")]
    assert row_problems([F], rows) == [{"row": 1, "field": "contexts", "metric": F}]
