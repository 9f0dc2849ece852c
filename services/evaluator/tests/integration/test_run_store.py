"""The run store keeps a judge call and its event in one statement that is its own
transaction: both rows or neither, the cancel flag read back through row-level security."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from evaluator.adapters.evaluation_repo import PgEvaluationRepo
from evaluator.adapters.run_store import PgRunStore
from evaluator.config import SCHEMA
from evaluator.domain.model import Evaluation, Judge, Row
from evaluator.ports import ChatRequest, JudgeCall, LlmReply, Unit
from rex_shared.db import create_pool
from rex_shared.events import Usage
from rex_tracking import CallContext, Response, Stopwatch, succeeded


def _call(evaluation: Evaluation) -> JudgeCall:
    ctx = CallContext(uuid4(), evaluation.org_id, evaluation.project_id, evaluation.user_id,
                      evaluation.id, "faithfulness", 0)  # fmt: skip
    response = Response("gpt-4o-mini", Usage(input_tokens=120, output_tokens=30), None, None, None)
    event = succeeded(ctx, provider="openai", api="chat.completions",
                      request=ChatRequest("gpt-4o-mini", "", ""), clock=Stopwatch(),
                      response=response)  # fmt: skip
    reply = LlmReply('{"claims": []}', event)
    return JudgeCall(evaluation.id, 0, "faithfulness", "claims", 0, reply, expected_output=40)


async def test_a_call_and_its_event_commit_together_and_a_cancel_is_seen(
    evaluator_dsn: str, org: str
) -> None:
    pool = await create_pool(evaluator_dsn, schema=SCHEMA, min_size=1, max_size=2)
    try:
        evaluation = Evaluation(
            id=uuid4(), org_id=org, project_id="p", user_id="u", metrics=("faithfulness",),
            judge=Judge("openai", "gpt-4o-mini"), rows_total=1, created_at=datetime.now(UTC),
        )  # fmt: skip
        repo, store = PgEvaluationRepo(pool), PgRunStore(pool)
        await repo.create(evaluation, [Row(0, "q?", ("c",), "a.")])
        unit = Unit(evaluation.id, 0, "faithfulness")
        first, second = _call(evaluation), _call(evaluation)
        assert await store.record(unit, first, None) is False
        assert await repo.request_cancel(org, evaluation.id)
        assert await store.record(unit, second, None) is True  # the flag, read under RLS
        stored = await _stored(pool, [first, second])
        assert stored == {str(c.reply.event.call_id): (True, True) for c in (first, second)}
        # The call's row refused (no such evaluation): its event is not kept either.
        orphan = replace(_call(evaluation), evaluation_id=uuid4())
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await store.record(unit, orphan, None)
        async with pool.acquire() as conn:
            kept = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE event_id = $1",
                str(orphan.reply.event.call_id),
            )
        assert kept == 0
        await store.close()
    finally:
        await pool.close()


async def _stored(pool: asyncpg.Pool, calls: list[JudgeCall]) -> dict[str, Any]:
    ids = [c.reply.event.call_id for c in calls]
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT c.call_id::text AS id, count(*) OVER (PARTITION BY c.call_id) = 1 AS one,"
            " o.event_id IS NOT NULL AS evented FROM llm_calls c"
            " LEFT JOIN outbox o ON o.event_id = c.call_id::text WHERE c.call_id = ANY($1)",
            ids,
        )
    return {r["id"]: (r["one"], r["evented"]) for r in rows}
