"""Submit-time checks: every metric known, every row carrying what its metrics need."""

from collections.abc import Sequence

from evaluator.domain.metrics import METRICS
from evaluator.domain.model import Row


def unknown_metrics(names: Sequence[str]) -> list[str]:
    """The names that are not registered metrics, in the order given."""
    return [n for n in names if n not in METRICS]


def row_problems(names: Sequence[str], rows: Sequence[Row]) -> list[dict[str, object]]:
    """One entry per (row, field) a metric needs but the row leaves empty."""
    return [
        {"row": row.index, "field": field, "metric": name}
        for row in rows
        for name in names
        for field in METRICS[name].missing_fields(row)
    ]
