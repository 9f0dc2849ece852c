"""Datasets uploaded and evaluated on every metric; predicted cost reserved with the real
budget service, actual cost read back from the real ledger, reservation settled."""

import json
from collections.abc import Callable
from decimal import Decimal
from importlib import resources
from typing import Any
from uuid import UUID

import httpx
from rex_testkit.waiting import eventually

Fixture = Callable[..., Any]
SAMPLE = json.loads(resources.files("rexctl").joinpath("data/sample_rag.json").read_text())
ALL = ["faithfulness", "answer_relevancy", "context_precision", "context_recall",
       "answer_correctness"]  # fmt: skip


async def test_datasets_upload_as_json_jsonl_and_csv_and_list_newest_first(
    evaluator: Any, auth_headers: Fixture, org: str
) -> None:
    headers = auth_headers(org, "ann", ("member",))
    rows = SAMPLE["rows"][:2]
    jsonl = "\n".join(json.dumps(r) for r in rows).encode()
    csv_body = b'question,contexts,answer,ground_truth\nWhere?,"[""In Paris.""]",In Paris.,Paris.\n'
    uploads = [
        ("application/json", json.dumps({"name": "as json", "rows": rows}).encode(), ""),
        ("application/x-ndjson", jsonl, "?name=as+jsonl"),
        ("text/csv", csv_body, "?name=as+csv"),
    ]
    ids = []
    for media, body, query in uploads:
        reply = await evaluator.http.post(
            f"/api/v1/datasets{query}", content=body, headers={**headers, "content-type": media}
        )
        assert reply.status_code == 201, reply.text
        ids.append(reply.json()["data"]["id"])
    listed = (await evaluator.http.get("/api/v1/datasets", headers=headers)).json()["data"]
    assert [d["id"] for d in listed["items"]] == ids[::-1]
    assert [d["name"] for d in listed["items"]] == ["as csv", "as jsonl", "as json"]
    got = (await evaluator.http.get(f"/api/v1/datasets/{ids[2]}", headers=headers)).json()
    assert got["data"]["rows"] == [
        {"question": "Where?", "contexts": ["In Paris."], "answer": "In Paris.",
         "ground_truth": "Paris."}
    ]  # fmt: skip
    other = await evaluator.http.get(f"/api/v1/datasets/{ids[0]}", headers=auth_headers("x"))
    assert other.status_code == 404


async def test_a_bad_upload_names_each_bad_row_and_field(
    evaluator: Any, auth_headers: Fixture, org: str
) -> None:
    headers = {**auth_headers(org), "content-type": "application/json"}
    body = {"rows": [SAMPLE["rows"][0], {"question": "q", "answer": 1, "contexts": []}]}
    reply = await evaluator.http.post("/api/v1/datasets", content=json.dumps(body), headers=headers)
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert error["code"] == "INVALID_DATASET"
    assert error["details"]["errors"] == [
        {"row": 1, "field": "answer", "message": "answer must be a string"}
    ]
    wrong = await evaluator.http.post(
        "/api/v1/datasets", content=b"x", headers={**headers, "content-type": "text/plain"}
    )
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


async def _upload_sample(evaluator: Any, headers: dict[str, str]) -> str:
    reply = await evaluator.http.post("/api/v1/datasets", json=SAMPLE, headers=headers)
    assert reply.status_code == 201, reply.text
    dataset_id: str = reply.json()["data"]["id"]
    return dataset_id


async def test_a_dataset_is_estimated_reserved_run_on_every_metric_costed_and_settled(
    evaluator: Any,
    budget_url: str,
    auth_headers: Fixture,
    wait_finished: Fixture,
    fetch: Fixture,
    org: str,
) -> None:
    headers = auth_headers(org, "ann", ("member",))
    dataset_id = await _upload_sample(evaluator, headers)
    # A dated model name only this test judges with: the output sizes it learns from are its
    # own runs of this dataset, not other tests' broken-on-purpose replies.
    judge = {"provider": "openai", "model": "gpt-4o-mini-2024-07-18"}
    body = {"dataset_id": dataset_id, "metrics": ALL, "project_id": "proj", "judge": judge}
    estimate = await evaluator.http.post("/api/v1/evaluations/estimate", json=body, headers=headers)
    assert estimate.status_code == 200, estimate.text
    predicted = Decimal(estimate.json()["data"]["estimated_cost"])
    assert predicted > 0 and set(estimate.json()["data"]["metrics"]) == set(ALL)

    reply = await evaluator.http.post("/api/v1/evaluations", json=body, headers=headers)
    assert reply.status_code == 202, reply.text
    created = reply.json()["data"]
    assert Decimal(created["estimated_cost"]) == predicted and created["reservation_id"]
    done = await wait_finished(evaluator.http, created["id"], headers, timeout_s=90)
    assert done["status"] == "completed" and done["rows_done"] == len(SAMPLE["rows"])
    assert set(done["scores"]) == set(ALL)
    assert all(0 <= s <= 1 for s in done["scores"].values() if s is not None)
    learned = await fetch(
        evaluator.dsn,
        "SELECT count(*) AS n FROM llm_calls WHERE evaluation_id = $1"
        " AND expected_input_tokens > 0 AND expected_output_tokens > 0",
        UUID(created["id"]),
    )
    assert learned[0]["n"] == done["calls"]  # every call teaches the next prediction

    async def costed() -> Any:
        got = await evaluator.http.get(f"/api/v1/evaluations/{created['id']}", headers=headers)
        cost = got.json()["data"]["cost"]
        ledger = cost.get("ledger") or {}
        return cost if ledger.get("calls") == done["calls"] else None

    cost = await eventually(costed, interval=0.2)
    actual = Decimal(cost["actual"])
    assert cost["estimated"] == created["estimated_cost"]
    assert abs(actual - predicted) / predicted < Decimal("0.15"), (actual, predicted)

    service = auth_headers(org, "evaluator", ("service",))

    async def settled() -> Any:
        async with httpx.AsyncClient(base_url=budget_url) as budget:
            url = f"/api/v1/budgets/reservations/{created['reservation_id']}"
            reservation = (await budget.get(url, headers=service)).json()["data"]
        return reservation if reservation["status"] == "settled" else None

    assert (await eventually(settled, interval=0.2))["evaluation_id"] == created["id"]


async def test_a_hard_budget_refuses_the_run_with_budget_exceeded(
    evaluator: Any, budget_url: str, auth_headers: Fixture, org: str
) -> None:
    admin = auth_headers(org, "root", ("admin",))
    async with httpx.AsyncClient(base_url=budget_url) as budget:
        created = await budget.post("/api/v1/budgets", headers=admin, json={
            "name": "tiny", "type": "project", "entity_id": "proj", "limit_amount": "0.0000001",
            "period": "monthly", "is_hard_limit": True,
        })  # fmt: skip
    assert created.status_code == 201, created.text
    body = {"rows": SAMPLE["rows"][:2], "metrics": ["faithfulness"], "project_id": "proj"}
    reply = await evaluator.http.post("/api/v1/evaluations", json=body, headers=admin)
    assert reply.status_code == 409, reply.text
    error = reply.json()["error"]
    assert error["code"] == "BUDGET_EXCEEDED"
    assert error["details"]["budget_id"] == created.json()["data"]["id"]
    listed = (await evaluator.http.get("/api/v1/evaluations", headers=admin)).json()["data"]
    assert listed["items"] == []


async def test_an_unreachable_budget_service_is_a_503_and_fail_open_accepts_with_a_warning(
    serve_evaluator: Fixture, auth_headers: Fixture, org: str
) -> None:
    headers = auth_headers(org)
    body = {"rows": SAMPLE["rows"][:1], "metrics": ["faithfulness"], "project_id": "proj"}
    async with serve_evaluator(budget_url="http://127.0.0.1:1") as closed:
        reply = await closed.http.post("/api/v1/evaluations", json=body, headers=headers)
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "BUDGET_SERVICE_UNAVAILABLE"
    async with serve_evaluator(budget_url="http://127.0.0.1:1", budget_fail_open=True) as opened:
        reply = await opened.http.post("/api/v1/evaluations", json=body, headers=headers)
    assert reply.status_code == 202
    assert [w["code"] for w in reply.json()["data"]["warnings"]] == ["BUDGET_NOT_CHECKED"]
