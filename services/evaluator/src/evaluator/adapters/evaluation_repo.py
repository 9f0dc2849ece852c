"""PostgreSQL storage of evaluations as the API sees them, always scoped to an organization."""

import json
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from evaluator.adapters.rows import state_from
from evaluator.domain.model import Evaluation, Row
from evaluator.ports import EvaluationState, RowResult


class PgEvaluationRepo:
    """`EvaluationRepo` over asyncpg."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, evaluation: Evaluation, rows: Sequence[Row]) -> None:
        e = evaluation
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO evaluations (id, org_id, project_id, user_id, name, status, metrics,"
                " judge_provider, judge_model, rows_total, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                e.id,
                e.org_id,
                e.project_id,
                e.user_id,
                e.name,
                e.status,
                list(e.metrics),
                e.judge.provider,
                e.judge.model,
                e.rows_total,
                e.created_at,
            )
            await conn.executemany(
                "INSERT INTO evaluation_rows (evaluation_id, row_index, question, contexts,"
                " answer, ground_truth) VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
                [
                    (
                        e.id,
                        r.index,
                        r.question,
                        json.dumps(list(r.contexts)),
                        r.answer,
                        r.ground_truth,
                    )
                    for r in rows
                ],
            )

    async def get(self, org_id: str, evaluation_id: UUID) -> EvaluationState | None:
        record = await self._pool.fetchrow(
            "SELECT * FROM evaluations WHERE id = $1 AND org_id = $2", evaluation_id, org_id
        )
        return None if record is None else state_from(record)

    async def results(self, evaluation_id: UUID) -> list[RowResult]:
        records = await self._pool.fetch(
            "SELECT row_index, metric, status, score, reasoning, error FROM metric_results"
            " WHERE evaluation_id = $1 ORDER BY row_index, metric",
            evaluation_id,
        )
        return [
            RowResult(
                r["row_index"],
                r["metric"],
                r["status"],
                r["score"],
                json.loads(r["reasoning"]),
                r["error"],
            )
            for r in records
        ]

    async def list(
        self, org_id: str, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[EvaluationState]:
        if after is None:
            records = await self._pool.fetch(
                "SELECT * FROM evaluations WHERE org_id = $1"
                " ORDER BY created_at DESC, id DESC LIMIT $2",
                org_id,
                limit,
            )
        else:
            records = await self._pool.fetch(
                "SELECT * FROM evaluations WHERE org_id = $1 AND (created_at, id) < ($2, $3)"
                " ORDER BY created_at DESC, id DESC LIMIT $4",
                org_id,
                after[0],
                after[1],
                limit,
            )
        return [state_from(r) for r in records]
