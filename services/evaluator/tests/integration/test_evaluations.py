"""End to end on real PostgreSQL and Kafka: submit, run against the simulator, read the events."""

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from rex_shared import topics
from rex_shared.events import EvaluationCompleted, LlmCallCompleted

Fixture = Callable[..., Any]

LONG_CONTEXT = " ".join(
    f"Section {i}: the Eiffel Tower in Paris was completed in 1889 and is made of wrought iron."
    for i in range(70)
)  # over 1,024 tokens, so repeated verdict prompts are served from the prompt cache


def _rows(answers: list[str]) -> list[dict[str, Any]]:
    return [
        {"question": f"Question {i}?", "contexts": [LONG_CONTEXT], "answer": answer}
        for i, answer in enumerate(answers)
    ]


ANSWERS = [
    "The Eiffel Tower was completed in 1889.",
    "The Eiffel Tower is made of wrought iron. Bananas grow underwater.",
    "Volcanoes paint sunflowers.",
]


def _calls_of(evaluation_id: str) -> Callable[[Any], bool]:
    return lambda record: evaluation_id.encode() in (record.value or b"")


async def _submit(evaluator: Any, headers: dict[str, str], body: dict[str, Any]) -> str:
    reply = await evaluator.http.post("/api/v1/evaluations", json=body, headers=headers)
    assert reply.status_code == 202, reply.text
    evaluation_id: str = reply.json()["data"]["id"]
    return evaluation_id


async def test_an_evaluation_runs_and_publishes_one_event_per_judge_call(
    evaluator: Any,
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
    headers = auth_headers(org, "ann")
    body = {"project_id": "proj", "metrics": ["faithfulness"], "rows": _rows(ANSWERS)}
    first = await _submit(evaluator, headers, body)
    await wait_finished(evaluator.http, first, headers)
    second = await _submit(evaluator, headers, body)  # same prompts again: cache hits
    result = await wait_finished(evaluator.http, second, headers)

    assert (result["status"], result["rows_done"], result["rows_total"]) == ("completed", 3, 3)
    assert 0 <= result["scores"]["faithfulness"] <= 1
    assert [r["results"]["faithfulness"]["score"] for r in result["rows"]] == [1.0, 0.5, 0.0]

    records = await calls_tail.read(_calls_of(second), count=6, settle=0.5)
    events = [LlmCallCompleted.model_validate_json(r.value) for r in records]
    assert len(events) == 6 and len({e.call_id for e in events}) == 6
    stored = await fetch(
        evaluator.dsn,
        "SELECT call_id, input_tokens FROM llm_calls WHERE evaluation_id = $1",
        UUID(second),
    )
    assert {r["call_id"]: r["input_tokens"] for r in stored} == {
        e.call_id: e.usage.input_tokens for e in events
    }
    for record, event in zip(records, events, strict=True):
        assert dict(record.headers)["ce_id"].decode() == str(event.call_id)
        assert record.key == str(event.call_id).encode()
        assert (event.org_id, event.project_id, event.user_id) == (org, "proj", "ann")
        assert (event.evaluation_id, event.metric) == (UUID(second), "faithfulness")
        assert event.raw_usage is not None and event.status == "succeeded"
        assert event.usage.input_tokens == event.raw_usage["prompt_tokens"]
        cached = event.raw_usage["prompt_tokens_details"]["cached_tokens"]
        assert event.usage.cache_read_tokens == cached
        assert event.model == "gpt-4o-mini-2024-07-18"
    verdict_cache = [e.usage.cache_read_tokens for e in events if e.usage.input_tokens > 1024]
    assert verdict_cache and all(c >= 1024 and c % 128 == 0 for c in verdict_cache)

    [done] = await done_tail.read(_calls_of(second), count=1, settle=0.5)
    completed = EvaluationCompleted.model_validate_json(done.value)
    assert (completed.status, completed.calls, completed.rows_done) == ("completed", 6, 3)
    assert done.key == org.encode()
    pending = await fetch(
        evaluator.dsn,
        "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"
        " AND convert_from(payload, 'UTF8') LIKE $1",
        f"%{second}%",
    )
    assert pending[0]["n"] == 0


async def test_a_provider_error_fails_one_row_and_still_emits_a_failed_call_event(
    evaluator: Any,
    tail: Fixture,
    wait_finished: Fixture,
    auth_headers: Fixture,
    org: str,
) -> None:
    calls_tail = await tail(topics.LLM_CALL_COMPLETED)
    headers = auth_headers(org)
    answers = [ANSWERS[0], "It opened in 1889. [sim:fail:500]"]
    body = {
        "project_id": "proj",
        "metrics": ["faithfulness"],
        "rows": _rows(answers),
        "judge": {"provider": "openai", "model": "gpt-4o-mini"},
    }
    evaluation_id = await _submit(evaluator, headers, body)
    result = await wait_finished(evaluator.http, evaluation_id, headers)

    assert result["status"] == "completed" and result["rows_done"] == 2
    failed = result["rows"][1]["results"]["faithfulness"]
    assert failed["status"] == "failed" and failed["score"] is None
    assert "InternalServerError" in failed["error"]
    assert result["scores"]["faithfulness"] == 1.0
    records = await calls_tail.read(_calls_of(evaluation_id), count=3, settle=0.5)
    events = [LlmCallCompleted.model_validate_json(r.value) for r in records]
    assert sorted(e.status for e in events) == ["failed", "succeeded", "succeeded"]
    [bad] = [e for e in events if e.status == "failed"]
    assert bad.usage.input_tokens == 0 and bad.error and bad.evaluation_id == UUID(evaluation_id)


async def test_an_anthropic_judge_reports_exclusive_input_as_canonical_totals(
    evaluator: Any,
    tail: Fixture,
    wait_finished: Fixture,
    auth_headers: Fixture,
    org: str,
) -> None:
    calls_tail = await tail(topics.LLM_CALL_COMPLETED)
    headers = auth_headers(org)
    body = {
        "project_id": "proj",
        "metrics": ["faithfulness"],
        "rows": _rows(ANSWERS[:1]),
        "judge": {"provider": "anthropic", "model": "claude-haiku-4-5"},
    }
    evaluation_id = await _submit(evaluator, headers, body)
    result = await wait_finished(evaluator.http, evaluation_id, headers)
    assert result["status"] == "completed"
    records = await calls_tail.read(_calls_of(evaluation_id), count=2, settle=0.5)
    for event in (LlmCallCompleted.model_validate_json(r.value) for r in records):
        raw = event.raw_usage or {}
        assert event.api == "messages"
        assert event.usage.input_tokens == (
            raw["input_tokens"]
            + raw["cache_creation_input_tokens"]
            + raw["cache_read_input_tokens"]
        )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"project_id": "p", "metrics": ["nope"], "rows": _rows(ANSWERS[:1])},
            422,
            "UNKNOWN_METRIC",
        ),
        ({"project_id": "p", "metrics": ["faithfulness"], "rows": []}, 422, "VALIDATION_ERROR"),
        (
            {
                "project_id": "p",
                "metrics": ["faithfulness"],
                "rows": [{"question": "q", "contexts": ["c"]}],
            },
            422,
            "VALIDATION_ERROR",
        ),
        ("{not json", 400, "MALFORMED_JSON"),
        ([1, 2], 422, "VALIDATION_ERROR"),
    ],
    ids=["unknown metric", "no rows", "row without answer", "malformed json", "not an object"],
)
async def test_bad_input_is_a_4xx_never_a_500(
    evaluator: Any, auth_headers: Fixture, org: str, body: Any, status: int, code: str
) -> None:
    headers = {**auth_headers(org), "content-type": "application/json"}
    if isinstance(body, str):
        reply = await evaluator.http.post("/api/v1/evaluations", content=body, headers=headers)
    else:
        reply = await evaluator.http.post("/api/v1/evaluations", json=body, headers=headers)
    assert (reply.status_code, reply.json()["error"]["code"]) == (status, code)


async def test_another_organization_cannot_see_it_and_ready_reports_both_dependencies(
    evaluator: Any,
    auth_headers: Fixture,
    org: str,
) -> None:
    body = {"project_id": "p", "metrics": ["faithfulness"], "rows": _rows(ANSWERS[:1])}
    evaluation_id = await _submit(evaluator, auth_headers(org), body)
    other = await evaluator.http.get(
        f"/api/v1/evaluations/{evaluation_id}", headers=auth_headers(org + "-other")
    )
    assert other.status_code == 404
    listed = await evaluator.http.get("/api/v1/evaluations", headers=auth_headers(org))
    assert [e["id"] for e in listed.json()["data"]["items"]] == [evaluation_id]
    ready = (await evaluator.http.get("/ready")).json()
    assert ready["data"]["checks"] == {"database": "ok", "kafka": "ok"}
