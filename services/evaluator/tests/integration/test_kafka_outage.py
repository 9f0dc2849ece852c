"""Kafka away: evaluations still run, their events wait in the outbox and go out later."""

from collections.abc import Callable
from typing import Any

from rex_shared import topics
from rex_shared.events import EvaluationCompleted, LlmCallCompleted

Fixture = Callable[..., Any]
ROW = {
    "question": "When?",
    "contexts": ["The tower was completed in 1889."],
    "answer": "The tower was completed in 1889.",
}


async def test_events_written_while_kafka_is_unreachable_are_published_once_it_is_back(
    serve_evaluator: Fixture,
    tail: Fixture,
    wait_finished: Fixture,
    fetch: Fixture,
    auth_headers: Fixture,
    org: str,
) -> None:
    calls_tail, done_tail = (
        await tail(topics.LLM_CALL_COMPLETED),
        await tail(topics.EVALUATION_COMPLETED),
    )
    headers = auth_headers(org)
    body = {"project_id": "p", "metrics": ["faithfulness"], "rows": [ROW]}
    async with serve_evaluator(kafka_bootstrap="127.0.0.1:1") as cut_off:
        reply = await cut_off.http.post("/api/v1/evaluations", json=body, headers=headers)
        evaluation_id = reply.json()["data"]["id"]
        result = await wait_finished(cut_off.http, evaluation_id, headers)
        ready = await cut_off.http.get("/ready")
    assert result["status"] == "completed"
    assert ready.status_code == 503
    assert ready.json()["error"]["details"]["checks"]["database"] == "ok"
    pending = await fetch(
        cut_off.dsn,
        "SELECT count(*) AS n FROM outbox WHERE published_at"
        " IS NULL AND convert_from(payload, 'UTF8') LIKE $1",
        f"%{evaluation_id}%",
    )
    assert pending[0]["n"] == 3  # two judge calls and the completion

    async with serve_evaluator():
        mine = lambda r: evaluation_id.encode() in (r.value or b"")  # noqa: E731
        calls = await calls_tail.read(mine, count=2, settle=0.5)
        [done] = await done_tail.read(mine, count=1, settle=0.5)
    assert {LlmCallCompleted.model_validate_json(r.value).status for r in calls} == {"succeeded"}
    assert len(calls) == 2
    assert EvaluationCompleted.model_validate_json(done.value).calls == 2
