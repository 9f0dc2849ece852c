"""The HTTP API on in-memory storage and the simulator: replies, validation, org scoping."""

from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from evaluator.adapters.memory_store import InMemoryStore
from evaluator.background import RunScheduler
from evaluator.bootstrap import create_app
from evaluator.config import Settings
from evaluator.entrypoints.api import ApiDeps
from evaluator.ports import LlmClient
from evaluator.runner import RunDeps, run_evaluation

Headers = Callable[..., dict[str, str]]


@pytest.fixture
async def scheduler(
    store: InMemoryStore, sim_clients: dict[str, LlmClient]
) -> AsyncIterator[RunScheduler]:
    async def run(evaluation_id: UUID) -> None:
        await run_evaluation(evaluation_id, deps=RunDeps(store=store, clients=sim_clients))

    runs = RunScheduler(run)
    yield runs
    await runs.stop()


@pytest.fixture
async def client(
    jwt_secret: str, store: InMemoryStore, scheduler: RunScheduler
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(jwt_secret=jwt_secret, env="test"))  # type: ignore[arg-type]
    app.state.runtime.api = ApiDeps(store, scheduler.submit, max_rows=20)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evaluator") as http:
        yield http


def _body(rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"project_id": "proj", "metrics": ["faithfulness"], "rows": rows, **extra}


async def test_an_evaluation_is_accepted_run_and_reported(
    client: httpx.AsyncClient,
    scheduler: RunScheduler,
    auth_headers: Headers,
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    headers = auth_headers(org, "ann")
    reply = await client.post(
        "/api/v1/evaluations", json=_body(rows, name="first"), headers=headers
    )
    assert reply.status_code == 202
    data = reply.json()["data"]
    assert data["status"] == "queued" and UUID(data["id"])
    await scheduler.wait_idle()
    got = (await client.get(f"/api/v1/evaluations/{data['id']}", headers=headers)).json()["data"]
    assert (got["status"], got["rows_total"], got["rows_done"]) == ("completed", 3, 3)
    assert (got["user_id"], got["name"], got["project_id"]) == ("ann", "first", "proj")
    assert got["scores"] == {"faithfulness": 0.5}
    assert got["judge"] == {"provider": "openai", "model": "gpt-4o-mini"}
    assert [r["results"]["faithfulness"]["score"] for r in got["rows"]] == [1.0, 0.5, 0.0]
    assert got["rows"][1]["results"]["faithfulness"]["reasoning"]["total"] == 2
    assert got["created_at"] and got["completed_at"]


async def test_another_organization_sees_404(
    client: httpx.AsyncClient, auth_headers: Headers, org: str, rows: list[dict[str, Any]]
) -> None:
    reply = await client.post("/api/v1/evaluations", json=_body(rows), headers=auth_headers(org))
    url = f"/api/v1/evaluations/{reply.json()['data']['id']}"
    other = await client.get(url, headers=auth_headers("org-other"))
    assert other.status_code == 404 and other.json()["error"]["code"] == "NOT_FOUND"
    for missing in (str(uuid4()), "not-a-uuid"):
        reply = await client.get(f"/api/v1/evaluations/{missing}", headers=auth_headers(org))
        assert reply.status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"metrics": ["faithfulness", "vibes"]}, 422, "UNKNOWN_METRIC"),
        ({"rows": []}, 422, "VALIDATION_ERROR"),
        ({"metrics": []}, 422, "VALIDATION_ERROR"),
        ({"judge": {"provider": "acme", "model": "x"}}, 422, "VALIDATION_ERROR"),
        ({"project_id": ""}, 422, "VALIDATION_ERROR"),
        (
            {"rows": [{"question": "q", "contexts": ["c"], "answer": "a"}] * 21},
            422,
            "VALIDATION_ERROR",
        ),
    ],
    ids=["unknown metric", "no rows", "no metrics", "bad provider", "no project", "too many"],
)
async def test_bad_bodies_are_4xx_with_a_code(
    client: httpx.AsyncClient,
    auth_headers: Headers,
    org: str,
    rows: list[dict[str, Any]],
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    reply = await client.post(
        "/api/v1/evaluations", json={**_body(rows), **change}, headers=auth_headers(org)
    )
    assert (reply.status_code, reply.json()["error"]["code"]) == (status, code)


async def test_a_row_missing_a_field_is_named_by_index_and_field(
    client: httpx.AsyncClient, auth_headers: Headers, org: str, rows: list[dict[str, Any]]
) -> None:
    del rows[1]["answer"]
    reply = await client.post("/api/v1/evaluations", json=_body(rows), headers=auth_headers(org))
    assert reply.status_code == 422
    [error] = reply.json()["error"]["details"]["errors"]
    assert error["loc"] == ["body", "rows", "1", "answer"]


async def test_a_row_missing_what_a_metric_needs_is_named(
    client: httpx.AsyncClient, auth_headers: Headers, org: str, rows: list[dict[str, Any]]
) -> None:
    rows[2]["contexts"] = []
    reply = await client.post("/api/v1/evaluations", json=_body(rows), headers=auth_headers(org))
    error = reply.json()["error"]
    assert reply.status_code == 422 and error["code"] == "VALIDATION_ERROR"
    assert error["message"] == "rows[2].contexts is required by faithfulness"
    assert error["details"]["problems"] == [
        {"row": 2, "field": "contexts", "metric": "faithfulness"}
    ]


async def test_malformed_json_is_a_400(
    client: httpx.AsyncClient, auth_headers: Headers, org: str
) -> None:
    headers = {**auth_headers(org), "content-type": "application/json"}
    reply = await client.post("/api/v1/evaluations", content=b'{"project_id": ', headers=headers)
    assert (reply.status_code, reply.json()["error"]["code"]) == (400, "MALFORMED_JSON")


async def test_without_a_token_the_caller_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/evaluations")).status_code == 401
    bad = await client.get("/api/v1/evaluations", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


async def test_the_list_pages_the_callers_evaluations_newest_first(
    client: httpx.AsyncClient, auth_headers: Headers, org: str, rows: list[dict[str, Any]]
) -> None:
    headers = auth_headers(org)
    ids = [
        (await client.post("/api/v1/evaluations", json=_body(rows[:1]), headers=headers)).json()[
            "data"
        ]["id"]
        for _ in range(3)
    ]
    await client.post("/api/v1/evaluations", json=_body(rows[:1]), headers=auth_headers("other"))
    first = (await client.get("/api/v1/evaluations?limit=2", headers=headers)).json()["data"]
    assert [e["id"] for e in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    rest = (
        await client.get(
            f"/api/v1/evaluations?limit=2&cursor={first['next_cursor']}", headers=headers
        )
    ).json()["data"]
    assert [e["id"] for e in rest["items"]] == [ids[0]] and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "status"), [("limit=0", 422), ("limit=101", 422), ("cursor=garbage", 400)]
)
async def test_bad_list_parameters_are_4xx(
    client: httpx.AsyncClient, auth_headers: Headers, org: str, query: str, status: int
) -> None:
    reply = await client.get(f"/api/v1/evaluations?{query}", headers=auth_headers(org))
    assert reply.status_code == status


async def test_the_openapi_document_and_health_are_served(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert {"/api/v1/evaluations", "/api/v1/evaluations/{evaluation_id}"} <= set(document["paths"])
    assert (await client.get("/health")).json() == {"success": True, "data": {"status": "ok"}}
