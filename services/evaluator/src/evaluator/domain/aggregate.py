"""Per-metric summaries and the final status of a finished run."""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Literal

from rex_shared.events import MetricTotals

from evaluator.domain.model import ResultSummary


def metric_means(
    metrics: Sequence[str], results: Iterable[ResultSummary]
) -> dict[str, Decimal | None]:
    """Mean score per metric over the rows that got one (None when no row did)."""
    scores: dict[str, list[Decimal]] = {m: [] for m in metrics}
    for r in results:
        if r.score is not None and r.metric in scores:
            scores[r.metric].append(r.score)
    return {m: (sum(s, Decimal(0)) / len(s) if s else None) for m, s in scores.items()}


def metric_totals(
    metrics: Sequence[str], results: Sequence[ResultSummary], calls: Mapping[str, int]
) -> list[MetricTotals]:
    """The `evaluation.completed` summary of each metric."""
    means = metric_means(metrics, results)
    scored = Counter(r.metric for r in results if r.score is not None)
    return [
        MetricTotals(metric=m, score=means[m], rows_scored=scored[m], calls=calls.get(m, 0))
        for m in metrics
    ]


FinalStatus = Literal["completed", "failed"]


def final_status(results: Sequence[ResultSummary]) -> tuple[FinalStatus, str | None]:
    """Completed unless every metric of every row failed (then the judge itself is broken)."""
    failed = [r for r in results if r.status == "failed"]
    if results and len(failed) == len(results):
        return "failed", f"all {len(results)} metric results failed"
    return "completed", None


def rows_done(metrics: Sequence[str], results: Iterable[ResultSummary]) -> int:
    """Rows that have a result for every metric."""
    per_row = Counter(r.row_index for r in results if r.metric in metrics)
    return sum(1 for n in per_row.values() if n >= len(metrics))
