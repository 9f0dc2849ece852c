"""Runs outlive the process that started them, stop when cancelled, and report progress."""

import asyncio
import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from rex_shared import topics
from rex_shared.events import EvaluationCompleted

Fixture = Callable[..., Any]
CONTEXT = "The Eiffel Tower in Paris was completed in 1889 and is made of wrought iron."


def _rows(n: int, delay_ms: int) -> list[dict[str, Any]]:
    return [
        {"question": f"Q{i}?", "contexts": [CONTEXT],
         "answer": f"The tower was completed in 1889. Row {i}. [sim:delay:{delay_ms}]"}
        for i in range(n)
    ]  # fmt: skip


async def test_a_restarted_evaluator_resumes_the_run_without_paying_twice(
    serve_evaluator: Fixture,
    auth_headers: Fixture,
    wait_finished: Fixture,
    fetch: Fixture,
    org: str,
) -> None:
    headers = auth_headers(org)
    body = {"project_id": "p", "metrics": ["faithfulness"], "rows": _rows(6, 150)}
    async with serve_evaluator(run_concurrency=1) as first:
        reply = await first.http.post("/api/v1/evaluations", json=body, headers=headers)
        evaluation_id = reply.json()["data"]["id"]

        async def some_calls() -> bool:
            rows = await fetch(first.dsn, "SELECT count(*) AS n FROM llm_calls"
                               " WHERE evaluation_id = $1", UUID(evaluation_id))  # fmt: skip
            return bool(rows[0]["n"] >= 3)

        await _until(some_calls)
    # The first instance is gone mid-run; the second resumes it at start-up.
    async with serve_evaluator() as second:
        result = await wait_finished(second.http, evaluation_id, headers, timeout_s=60)
    assert result["status"] == "completed" and result["rows_done"] == 6
    calls = await fetch(second.dsn, "SELECT row_index, step, attempt FROM llm_calls"
                        " WHERE evaluation_id = $1", UUID(evaluation_id))  # fmt: skip
    keys = [(c["row_index"], c["step"], c["attempt"]) for c in calls]
    assert len(keys) == len(set(keys)) == 12  # every step paid exactly once


async def _until(check: Callable[[], Any], timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_cancel_stops_the_run_settles_and_announces_it(
    evaluator: Any, tail: Fixture, auth_headers: Fixture, wait_finished: Fixture, org: str
) -> None:
    done_tail = await tail(topics.EVALUATION_COMPLETED)
    headers = auth_headers(org, "ann", ("member",))
    body = {"project_id": "p", "metrics": ["faithfulness"], "rows": _rows(20, 200)}
    reply = await evaluator.http.post("/api/v1/evaluations", json=body, headers=headers)
    evaluation_id = reply.json()["data"]["id"]
    cancel = await evaluator.http.post(f"/api/v1/evaluations/{evaluation_id}/cancel",
                                       headers=headers)  # fmt: skip
    assert cancel.status_code == 202
    result = await wait_finished(evaluator.http, evaluation_id, headers)
    assert result["status"] == "cancelled" and result["rows_done"] < 20
    [record] = await done_tail.read(
        lambda r: evaluation_id.encode() in (r.value or b""), count=1, settle=0.5
    )
    event = EvaluationCompleted.model_validate_json(record.value)
    assert event.status == "cancelled" and event.calls == result["calls"]


async def test_progress_streams_as_server_sent_events(
    evaluator: Any, auth_headers: Fixture, org: str
) -> None:
    headers = auth_headers(org)
    body = {"project_id": "p", "metrics": ["faithfulness"], "rows": _rows(3, 50)}
    reply = await evaluator.http.post("/api/v1/evaluations", json=body, headers=headers)
    url = f"/api/v1/evaluations/{reply.json()['data']['id']}/events"
    seen: list[dict[str, Any]] = []
    async with evaluator.http.stream("GET", url, headers=headers) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line.removeprefix("data: ")))
    assert seen[-1]["status"] == "completed" and seen[-1]["rows_done"] == 3
    assert [s["rows_done"] for s in seen] == sorted(s["rows_done"] for s in seen)
