"""Database records to domain values (shared by the repositories)."""

import json
from typing import Any

import asyncpg

from evaluator.domain.model import Evaluation, Judge, Row
from evaluator.ports import EvaluationState


def evaluation_from(record: asyncpg.Record) -> Evaluation:
    return Evaluation(
        id=record["id"],
        org_id=record["org_id"],
        project_id=record["project_id"],
        user_id=record["user_id"],
        metrics=tuple(record["metrics"]),
        judge=Judge(record["judge_provider"], record["judge_model"]),
        rows_total=record["rows_total"],
        created_at=record["created_at"],
        name=record["name"],
        status=record["status"],
        dataset_id=record["dataset_id"],
        estimated_cost=record["estimated_cost"],
        estimate=_json(record["estimate"]),
        warnings=tuple(_json(record["warnings"]) or ()),
        reservation_id=record["reservation_id"],
    )


def state_from(record: asyncpg.Record) -> EvaluationState:
    return EvaluationState(
        evaluation=evaluation_from(record),
        rows_done=record["rows_done"],
        scores=_json(record["scores"]),
        error=record["error"],
        started_at=record["started_at"],
        completed_at=record["completed_at"],
        cancel_requested=record["cancel_requested_at"] is not None,
        settled_at=record["settled_at"],
        calls=record.get("calls", 0),
    )


def row_from(record: asyncpg.Record) -> Row:
    return Row(
        index=record["row_index"],
        question=record["question"],
        contexts=tuple(_json(record["contexts"])),
        answer=record["answer"],
        ground_truth=record["ground_truth"],
    )


def _json(value: Any) -> Any:
    # asyncpg hands JSONB over as text unless a codec is registered on every connection.
    return json.loads(value) if isinstance(value, str) else value
