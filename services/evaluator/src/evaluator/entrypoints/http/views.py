"""Evaluations and datasets shaped for JSON replies."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from rex_shared.money import to_str

from evaluator.domain.model import Dataset, Evaluation, Judge, KeyInfo
from evaluator.handlers.estimates import Estimate
from evaluator.ports import EvaluationState, RowResult


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def page_view(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


def submitted_view(evaluation: Evaluation) -> dict[str, Any]:
    """An evaluation just accepted (202)."""
    estimate = evaluation.estimate or {}
    return {
        "id": str(evaluation.id),
        "status": evaluation.status,
        "estimated_cost": estimate.get("estimated_cost"),
        "estimate": evaluation.estimate,
        "reservation_id": evaluation.reservation_id,
        "warnings": list(evaluation.warnings),
    }


def estimate_view(found: Estimate, rows: int, judge: Judge) -> dict[str, Any]:
    return {
        **found.as_json(),
        "rows": rows,
        "judge": {"provider": judge.provider, "model": judge.model},
    }


def cancelling_view(evaluation_id: str) -> dict[str, Any]:
    return {"id": evaluation_id, "status": "cancelling"}


def summary_view(state: EvaluationState) -> dict[str, Any]:
    """An evaluation without its rows (lists, progress)."""
    e = state.evaluation
    return {
        "id": str(e.id),
        "name": e.name,
        "project_id": e.project_id,
        "user_id": e.user_id,
        "dataset_id": str(e.dataset_id) if e.dataset_id else None,
        "status": e.status,
        "cancel_requested": state.cancel_requested,
        "metrics": list(e.metrics),
        "judge": {"provider": e.judge.provider, "model": e.judge.model},
        "rows_total": e.rows_total,
        "rows_done": state.rows_done,
        "progress": round(state.rows_done / e.rows_total, 4) if e.rows_total else 0,
        "calls": state.calls,
        "scores": state.scores,
        "estimated_cost": to_str(e.estimated_cost) if e.estimated_cost is not None else None,
        "warnings": list(e.warnings),
        "reservation_id": e.reservation_id,
        "error": state.error,
        "created_at": _iso(e.created_at),
        "started_at": _iso(state.started_at),
        "completed_at": _iso(state.completed_at),
    }


def evaluation_view(
    state: EvaluationState, results: list[RowResult], actual: dict[str, Any]
) -> dict[str, Any]:
    """An evaluation with each row's result per metric, reasoning and costs included."""
    per_row: dict[int, dict[str, Any]] = defaultdict(dict)
    for r in results:
        per_row[r.row_index][r.metric] = {
            "status": r.status,
            "score": None if r.score is None else float(r.score),
            "error": r.error,
            "reasoning": r.reasoning,
        }
    rows = [{"row_index": i, "results": per_row[i]} for i in sorted(per_row)]
    cost = {
        "estimated": summary_view(state)["estimated_cost"],
        "estimate": state.evaluation.estimate,
        **actual,
    }
    return {**summary_view(state), "cost": cost, "rows": rows}


def dataset_view(d: Dataset, *, rows: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": str(d.id),
        "name": d.name,
        "user_id": d.user_id,
        "rows_total": d.rows_total,
        "size_bytes": d.size_bytes,
        "created_at": _iso(d.created_at),
    }
    if rows:
        view["rows"] = [
            {
                "question": r.question,
                "contexts": list(r.contexts),
                "answer": r.answer,
                "ground_truth": r.ground_truth,
            }
            for r in d.rows
        ]
    return view


def key_view(k: KeyInfo) -> dict[str, Any]:
    return {
        "provider": k.provider,
        "last4": k.last4,
        "kek_id": k.kek_id,
        "updated_by": k.updated_by,
        "updated_at": _iso(k.updated_at),
    }


def keys_view(keys: list[KeyInfo]) -> dict[str, Any]:
    return {"items": [key_view(k) for k in keys]}


def rotated_view(rotated: int) -> dict[str, Any]:
    return {"rotated": rotated}


def key_deleted_view(provider: str) -> dict[str, Any]:
    return {"provider": provider, "deleted": True}
