"""Evaluations shaped for JSON replies."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from evaluator.ports import EvaluationState, RowResult


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def summary_view(state: EvaluationState) -> dict[str, Any]:
    """An evaluation without its rows (lists)."""
    e = state.evaluation
    return {
        "id": str(e.id),
        "name": e.name,
        "project_id": e.project_id,
        "user_id": e.user_id,
        "status": e.status,
        "metrics": list(e.metrics),
        "judge": {"provider": e.judge.provider, "model": e.judge.model},
        "rows_total": e.rows_total,
        "rows_done": state.rows_done,
        "scores": state.scores,
        "error": state.error,
        "created_at": _iso(e.created_at),
        "started_at": _iso(state.started_at),
        "completed_at": _iso(state.completed_at),
    }


def evaluation_view(state: EvaluationState, results: list[RowResult]) -> dict[str, Any]:
    """An evaluation with each row's result per metric, reasoning included."""
    per_row: dict[int, dict[str, Any]] = defaultdict(dict)
    for r in results:
        per_row[r.row_index][r.metric] = {
            "status": r.status,
            "score": None if r.score is None else float(r.score),
            "error": r.error,
            "reasoning": r.reasoning,
        }
    rows = [{"row_index": i, "results": per_row[i]} for i in sorted(per_row)]
    return {**summary_view(state), "rows": rows}
