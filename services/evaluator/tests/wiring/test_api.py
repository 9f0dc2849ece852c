"""The HTTP API on in-memory storage and the simulator: replies, validation, org scoping."""

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from evaluator.bootstrap import Deps, create_app
from evaluator.config import Settings
from evaluator.entrypoints.workers import RunScheduler
from evaluator.handlers.evaluations import Gatekeeping
from evaluator.handlers.runs import RunDeps, run_evaluation
from evaluator.ports import LlmClient, ServiceUnavailable
from fastapi import FastAPI
from rex_testkit.evaluator.memory_store import InMemoryStore

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
def app(
    jwt_secret: str, store: InMemoryStore, scheduler: RunScheduler, gates: Gatekeeping
) -> FastAPI:
    deps = Deps(store, scheduler.submit, max_rows=20, gates=gates)
    return create_app(Settings(jwt_secret=jwt_secret, env="test"), deps=deps)  # type: ignore[arg-type]


@pytest.fixture
async def client(
    app: FastAPI, documented_replies: Callable[[FastAPI], Any]
) -> AsyncIterator[httpx.AsyncClient]:
    """Every success reply is also checked against the model its route documents."""
    transport = httpx.ASGITransport(app=app)
    hooks = {"response": [documented_replies(app)]}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://evaluator", event_hooks=hooks
    ) as http:
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
    ("query", "status"), [("limit=0", 422), ("limit=101", 422), ("cursor=garbage", 422)]
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


async def test_the_estimate_breaks_the_predicted_cost_down_per_metric(
    client: httpx.AsyncClient,
    auth_headers: Headers,
    org: str,
    rows: list[dict[str, Any]],
    quoter: Any,
) -> None:
    body = {**_body(rows), "metrics": ["faithfulness", "answer_relevancy"]}
    reply = await client.post("/api/v1/evaluations/estimate", json=body, headers=auth_headers(org))
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    metrics = data["metrics"]
    assert set(metrics) == {"faithfulness", "answer_relevancy"}
    assert metrics["faithfulness"]["calls"] == 6 and metrics["answer_relevancy"]["calls"] == 3
    total = sum(Decimal(m["estimated_cost"]) for m in metrics.values())
    assert Decimal(data["estimated_cost"]) == total > 0
    assert isinstance(data["estimated_cost"], str) and data["currency"] == "USD"
    # One ledger quote per metric step (the average call), not per row.
    assert len(quoter.requests) == 3


async def test_a_submission_carries_its_estimate_and_reservation(
    client: httpx.AsyncClient,
    auth_headers: Headers,
    org: str,
    rows: list[dict[str, Any]],
    budget: Any,
    scheduler: RunScheduler,
) -> None:
    reply = await client.post("/api/v1/evaluations", json=_body(rows), headers=auth_headers(org))
    data = reply.json()["data"]
    assert reply.status_code == 202 and data["reservation_id"] == f"res-{data['id']}"
    assert Decimal(data["estimated_cost"]) == budget.held[data["reservation_id"]] > 0
    assert data["warnings"] == []
    await scheduler.wait_idle()
    got = (await client.get(f"/api/v1/evaluations/{data['id']}", headers=auth_headers(org))).json()
    assert got["data"]["cost"]["estimated"] == data["estimated_cost"]


async def test_a_hard_limit_refuses_with_the_budget_services_envelope(
    client: httpx.AsyncClient,
    auth_headers: Headers,
    org: str,
    rows: list[dict[str, Any]],
    budget: Any,
    store: InMemoryStore,
) -> None:
    budget.limit = Decimal("0.000001")
    reply = await client.post("/api/v1/evaluations", json=_body(rows), headers=auth_headers(org))
    assert reply.status_code == 409
    error = reply.json()["error"]
    assert error["code"] == "BUDGET_EXCEEDED" and error["details"]["budget_id"] == "b1"
    assert await store.list(org, 10, None) == []  # nothing stored, nothing runs


async def test_a_soft_limit_accepts_with_warnings(
    client: httpx.AsyncClient,
    auth_headers: Headers,
    org: str,
    rows: list[dict[str, Any]],
    budget: Any,
) -> None:
    budget.soft = Decimal(0)
    reply = await client.post("/api/v1/evaluations", json=_body(rows), headers=auth_headers(org))
    assert reply.status_code == 202
    assert reply.json()["data"]["warnings"] == [
        {"budget_id": "b1", "message": "over the soft limit"}
    ]


class _Away:
    async def reserve(self, **_: Any) -> Any:
        raise ServiceUnavailable("budget", "connection refused")

    async def settle(self, **_: Any) -> None:
        raise ServiceUnavailable("budget", "connection refused")


@pytest.mark.parametrize("fail_open", [False, True])
async def test_an_unreachable_budget_service_fails_closed_unless_told_otherwise(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth_headers: Headers,
    org: str,
    rows: list[dict[str, Any]],
    gates: Gatekeeping,
    fail_open: bool,
) -> None:
    deps = app.state.deps
    app.state.deps = replace(deps, gates=replace(gates, budget=_Away(), fail_open=fail_open))
    reply = await client.post("/api/v1/evaluations", json=_body(rows), headers=auth_headers(org))
    if fail_open:
        assert reply.status_code == 202
        [warning] = reply.json()["data"]["warnings"]
        assert warning["code"] == "BUDGET_NOT_CHECKED"
    else:
        assert reply.status_code == 503
        error = reply.json()["error"]
        assert (
            error["code"] == "BUDGET_SERVICE_UNAVAILABLE"
            and error["details"]["service"] == "budget"
        )


async def test_members_see_only_their_own_evaluations_and_viewers_cannot_submit(
    client: httpx.AsyncClient,
    auth_headers: Headers,
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    ann = auth_headers(org, "ann", ("member",))
    bob = auth_headers(org, "bob", ("member",))
    viewer = auth_headers(org, "val", ("viewer",))
    created = await client.post("/api/v1/evaluations", json=_body(rows), headers=ann)
    url = f"/api/v1/evaluations/{created.json()['data']['id']}"
    assert (await client.get(url, headers=ann)).status_code == 200
    assert (await client.get(url, headers=bob)).status_code == 404
    assert (await client.get(url, headers=viewer)).status_code == 200
    listed = (await client.get("/api/v1/evaluations", headers=bob)).json()["data"]["items"]
    assert listed == []
    denied = await client.post("/api/v1/evaluations", json=_body(rows), headers=viewer)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert (await client.post(f"{url}/cancel", headers=bob)).status_code == 404


async def test_cancel_stops_a_run_and_a_finished_one_cannot_be_cancelled(
    client: httpx.AsyncClient,
    scheduler: RunScheduler,
    auth_headers: Headers,
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    headers = auth_headers(org)
    slow = [{**r, "answer": r["answer"] + " [sim:delay:300]"} for r in rows]
    created = await client.post("/api/v1/evaluations", json=_body(slow), headers=headers)
    url = f"/api/v1/evaluations/{created.json()['data']['id']}"
    reply = await client.post(f"{url}/cancel", headers=headers)
    assert reply.status_code == 202 and reply.json()["data"]["status"] == "cancelling"
    await scheduler.wait_idle()
    assert (await client.get(url, headers=headers)).json()["data"]["status"] == "cancelled"
    again = await client.post(f"{url}/cancel", headers=headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "EVALUATION_FINISHED")


async def test_progress_streams_as_server_sent_events_until_the_end(
    client: httpx.AsyncClient,
    auth_headers: Headers,
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    headers = auth_headers(org)
    created = await client.post("/api/v1/evaluations", json=_body(rows), headers=headers)
    url = f"/api/v1/evaluations/{created.json()['data']['id']}/events"
    kinds, last = [], {}
    async with client.stream("GET", url, headers=headers) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                kinds.append(line.removeprefix("event: "))
            elif line.startswith("data: "):
                last = json.loads(line.removeprefix("data: "))
    assert kinds[-1] == "completed" and set(kinds) <= {"progress", "completed"}
    assert (last["status"], last["rows_done"], last["rows_total"]) == ("completed", 3, 3)


async def test_giving_both_rows_and_a_dataset_or_neither_is_a_422(
    client: httpx.AsyncClient,
    auth_headers: Headers,
    org: str,
    rows: list[dict[str, Any]],
) -> None:
    both = {**_body(rows), "dataset_id": str(uuid4())}
    neither = {"metrics": ["faithfulness"]}
    for body in (both, neither):
        reply = await client.post("/api/v1/evaluations", json=body, headers=auth_headers(org))
        assert (reply.status_code, reply.json()["error"]["code"]) == (422, "VALIDATION_ERROR")


def test_every_api_operation_documents_its_success_reply(app: FastAPI) -> None:
    """Clients read the document: each JSON success reply names its model, streams their type."""
    spec = app.openapi()
    undocumented = []
    for path, item in spec["paths"].items():
        for method, op in item.items() if path.startswith("/api/v1") else ():
            for status, reply in op["responses"].items():
                content = reply.get("content", {})
                if status.startswith("2") and set(content) != {"text/event-stream"}:
                    schema = content.get("application/json", {}).get("schema", {})
                    if not schema.get("$ref", "").startswith("#/components/schemas/Envelope_"):
                        undocumented.append(f"{method.upper()} {path} {status}")
    assert not undocumented
    events = spec["paths"]["/api/v1/evaluations/{evaluation_id}/events"]["get"]
    assert set(events["responses"]["200"]["content"]) == {"text/event-stream"}
