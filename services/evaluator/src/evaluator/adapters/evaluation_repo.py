"""PostgreSQL storage of evaluations as the API sees them, always scoped to an organization."""

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from evaluator.adapters.pg import transaction
from evaluator.adapters.rows import state_from
from evaluator.config import QUEUED_CHANNEL
from evaluator.domain.model import Evaluation, Row
from evaluator.ports import EvaluationState, RowResult

log = logging.getLogger(__name__)

# A new evaluation and its rows in ONE statement, a transaction of its own (one round trip,
# commit included). It scopes itself to the organization first (`scope`: the row-level
# security policy then checks every inserted evaluation against it; were the order ever
# different, the insert would be refused, never let through).
_CREATE = (
    "WITH scope AS (SELECT set_config('app.org_id', $2, true) AS org_id),"
    " created AS (INSERT INTO evaluations (id, org_id, project_id, user_id, name, status,"
    " metrics, judge_provider, judge_model, rows_total, created_at, dataset_id, estimated_cost,"
    " estimate, warnings, reservation_id) SELECT $1::uuid, scope.org_id, $3::text, $4::text,"
    " $5::text, $6::text, $7::text[], $8::text, $9::text, $10::int, $11::timestamptz,"
    " $12::uuid, $13::numeric, $14::jsonb, $15::jsonb, $16::text FROM scope RETURNING id)"
    " INSERT INTO evaluation_rows (evaluation_id, row_index, question, contexts, answer,"
    " ground_truth) SELECT created.id, r.row_index, r.question, r.contexts::jsonb, r.answer,"
    " r.ground_truth FROM created, unnest($17::int[], $18::text[], $19::text[], $20::text[],"
    " $21::text[]) AS r(row_index, question, contexts, answer, ground_truth)"
)
_STATE = (
    "SELECT e.*, (SELECT count(*) FROM llm_calls c WHERE c.evaluation_id = e.id) AS calls"
    " FROM evaluations e"
)


class PgEvaluationRepo:
    """`EvaluationRepo` over asyncpg."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waking: set[asyncio.Task[None]] = set()

    async def create(self, evaluation: Evaluation, rows: Sequence[Row]) -> None:
        e = evaluation
        async with self._pool.acquire() as conn:
            await conn.execute(
                _CREATE,
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
                e.dataset_id,
                e.estimated_cost,
                json.dumps(e.estimate) if e.estimate is not None else None,
                json.dumps(list(e.warnings)),
                e.reservation_id,
                [r.index for r in rows],
                [r.question for r in rows],
                [json.dumps(list(r.contexts)) for r in rows],
                [r.answer for r in rows],
                [r.ground_truth for r in rows],
            )
        # Committed: wake an instance that runs evaluations (it starts this one). In the
        # background, not in the request: a NOTIFY waits on a database-wide lock behind every
        # other notifying commit. Lost (a crash now), the runners' upkeep finds it anyway.
        task = asyncio.create_task(self._wake(e.id), name=f"queued-{e.id}")
        self._waking.add(task)
        task.add_done_callback(self._waking.discard)

    async def _wake(self, evaluation_id: UUID) -> None:
        try:
            async with self._pool.acquire() as conn:
                await conn.execute("SELECT pg_notify($1, $2)", QUEUED_CHANNEL, str(evaluation_id))
        except Exception as exc:
            log.warning("evaluation %s queued without a wake-up: %s", evaluation_id, exc)

    async def get(
        self, org_id: str, evaluation_id: UUID, user_id: str | None = None
    ) -> EvaluationState | None:
        async with transaction(self._pool, org_id) as conn:
            record = await conn.fetchrow(
                f"{_STATE} WHERE e.id = $1 AND e.org_id = $2"
                " AND ($3::text IS NULL OR e.user_id = $3)",
                evaluation_id,
                org_id,
                user_id,
            )
        return None if record is None else state_from(record)

    async def results(self, org_id: str, evaluation_id: UUID) -> list[RowResult]:
        # Scoped: the request role sees an evaluation's results only under its organization.
        async with transaction(self._pool, org_id) as conn:
            records = await conn.fetch(
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
        self,
        org_id: str,
        limit: int,
        after: tuple[datetime, UUID] | None,
        user_id: str | None = None,
    ) -> list[EvaluationState]:
        since, last = after if after else (None, None)
        async with transaction(self._pool, org_id) as conn:
            records = await conn.fetch(
                f"{_STATE} WHERE e.org_id = $1 AND ($2::text IS NULL OR e.user_id = $2)"
                " AND ($3::timestamptz IS NULL OR (e.created_at, e.id) < ($3, $4::uuid))"
                " ORDER BY e.created_at DESC, e.id DESC LIMIT $5",
                org_id,
                user_id,
                since,
                last,
                limit,
            )
        return [state_from(r) for r in records]

    async def request_cancel(self, org_id: str, evaluation_id: UUID) -> bool:
        async with transaction(self._pool, org_id) as conn:
            flagged = await conn.fetchval(
                "UPDATE evaluations SET cancel_requested_at = coalesce(cancel_requested_at, now())"
                " WHERE id = $1 AND org_id = $2 AND status IN ('queued', 'running') RETURNING 1",
                evaluation_id,
                org_id,
            )
            if flagged:  # a queued one nobody runs yet: a runner starts it and ends it
                await conn.execute("SELECT pg_notify($1, $2)", QUEUED_CHANNEL, str(evaluation_id))
        return bool(flagged)
