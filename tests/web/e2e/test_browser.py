"""The web app in Debian's chromium (playwright-core) against the real stack behind nginx.

Each test drives one step of a person's journey in the browser (web/e2e/steps.mjs) and then
checks what the page showed against the APIs. The steps build on each other, in file order:
a soft budget, an evaluation that crosses it, its cost on the dashboard, the alert
acknowledged, the budget edited, a hard budget that refuses the next run, and axe on every
page.
Screenshots go to $REX_SCREENSHOTS (`make screenshots`), else to a temporary folder.
"""

import json
import os
import re
import shutil
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from webstack import ROOT, WebStack, node

ORG = f"web-{uuid.uuid4().hex[:10]}"
SAMPLE = ROOT / "tools" / "rexctl" / "src" / "rexctl" / "data" / "sample_rag.json"
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("REX_SCREENSHOTS")
    return Path(wanted).resolve() if wanted else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def api(web: WebStack) -> httpx.Client:
    """The APIs through nginx, as the page calls them."""
    headers = {"Authorization": f"Bearer {web.token(ORG)}"}
    with httpx.Client(base_url=web.url, headers=headers, timeout=10) as client:
        yield client


def step(web: WebStack, shots: Path, which: str, **args: Any) -> dict[str, Any]:
    """Run one browser step; its RESULT line, with no page errors on the way."""
    env = {
        "REX_WEB_URL": web.url, "REX_TOKEN": web.token(ORG), "REX_SCREENSHOTS": str(shots),
        "REX_CHROMIUM": web.chromium, "REX_ARGS": json.dumps(args),
    }  # fmt: skip
    done = node("steps.mjs", which, env=env, timeout=300)
    assert done.returncode == 0, f"browser step {which} failed:\n{done.stderr}\n{done.stdout}"
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    assert result["problems"] == [], result["problems"]
    return result


def usd(text: str) -> Decimal:
    """The first dollar amount shown in `text`."""
    found = re.search(r"\$([\d,]+\.\d+)", text)
    assert found, text
    return Decimal(found.group(1).replace(",", ""))


def data(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()["data"]


def test_one_origin_serves_the_app_and_routes_each_api_to_its_service(
    web: WebStack, api: httpx.Client
) -> None:
    page = api.get("/budgets/some-deep-link")
    assert page.status_code == 200 and '<div id="root">' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for path in ("/api/v1/evaluations", "/api/v1/datasets", "/api/v1/costs/calls",
                 "/api/v1/budgets", "/api/v1/notifications/deliveries"):  # fmt: skip
        assert api.get(path).json()["success"] is True, path
    unknown = api.get("/api/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND"
    assert httpx.get(f"{web.url}/api/v1/budgets").status_code == 401  # no token, no data


def test_an_admin_creates_a_soft_budget_in_the_browser(
    web: WebStack, shots: Path, api: httpx.Client
) -> None:
    seen = step(web, shots, "create-budget", name="Team soft", limit="0.0001", hard=False,
                thresholds="50, 80, 100", shotName="budget-new")  # fmt: skip
    budget = data(api.get(f"/api/v1/budgets/{seen['id']}"))
    assert (budget["name"], budget["type"]) == ("Team soft", "organization")
    assert budget["entity_id"] == ORG
    assert Decimal(budget["limit_amount"]) == Decimal("0.0001")
    assert [Decimal(t) for t in budget["thresholds"]] == [50, 80, 100]
    assert budget["timezone"] == "Europe/Berlin" and budget["period"] == "monthly"
    assert budget["is_hard_limit"] is False
    STATE["soft"] = seen["id"]


def test_an_evaluation_submitted_in_the_browser_shows_live_progress_and_its_costs(
    web: WebStack, shots: Path, api: httpx.Client, tmp_path: Path
) -> None:
    dataset = tmp_path / "sample_rag.json"
    shutil.copy(SAMPLE, dataset)
    seen = step(web, shots, "submit-evaluation", file=str(dataset), name="Browser run")
    evaluation = data(api.get(f"/api/v1/evaluations/{seen['id']}"))
    assert evaluation["status"] == "completed" and evaluation["name"] == "Browser run"
    assert "Team soft" in seen["warning"]  # the soft budget warned before the run
    assert len(seen["progress"]) >= 2 and seen["progress"][-1].startswith("8 of 8 rows")
    assert any("event stream" in m for m in seen["modes"]), seen["modes"]
    assert usd(seen["predicted"]) == Decimal(evaluation["estimated_cost"]).quantize(
        usd(seen["predicted"])
    )
    costs = data(api.get(f"/api/v1/costs/evaluations/{seen['id']}"))
    assert usd(seen["actual"]) == Decimal(costs["total_cost"]).quantize(usd(seen["actual"]))
    assert "faithfulness" in seen["scores"] and "answer_relevancy" in seen["scores"]
    STATE["evaluation"] = seen["id"]


def test_its_cost_appears_on_the_dashboard_with_a_csv_of_the_ledger(
    web: WebStack, shots: Path, api: httpx.Client
) -> None:
    seen = step(web, shots, "dashboard", evaluationName="Browser run")
    total = data(api.get("/api/v1/costs/summary", params={"period": "month"}))["total_cost"]
    assert usd(seen["total"]) == Decimal(total).quantize(usd(seen["total"]))
    assert seen["listsEvaluation"] and seen["spendDays"] >= 1
    calls = data(api.get("/api/v1/costs/calls", params={"limit": 1000}))["items"]
    assert seen["csvHeader"].startswith("call_id,") and seen["csvLines"] == 1 + len(calls)
    assert "over 8 rows" in seen["perRow"]


def test_the_crossed_threshold_alert_shows_and_is_acknowledged(
    web: WebStack, shots: Path, api: httpx.Client
) -> None:
    seen = step(web, shots, "acknowledge", budgetName="Team soft")
    assert "crossed 100%" in seen["text"] and seen["rowSeverity"] == "critical"
    alerts = data(api.get("/api/v1/budgets/alerts", params={"budget_id": STATE["soft"]}))
    acked = [a for a in alerts["items"] if a["acknowledged_at"]]
    assert [Decimal(a["threshold"]) for a in acked] == [100]
    assert len(alerts["items"]) - len(acked) == seen["after"]
    detail = step(web, shots, "budget-detail", id=STATE["soft"])
    assert detail["periods"] == 1 and "limit already reached" in detail["forecast"]


def test_an_admin_edits_the_budget_but_not_its_scope(
    web: WebStack, shots: Path, api: httpx.Client
) -> None:
    seen = step(web, shots, "edit-budget", id=STATE["soft"], limit="0.5", thresholds="25, 75")
    assert seen["scopeLocked"] and "$0.50" in seen["summary"] and "25%, 75%" in seen["summary"]
    budget = data(api.get(f"/api/v1/budgets/{STATE['soft']}"))
    assert Decimal(budget["limit_amount"]) == Decimal("0.5")
    assert [Decimal(t) for t in budget["thresholds"]] == [25, 75]
    assert budget["type"] == "organization" and budget["timezone"] == "Europe/Berlin"


def test_a_hard_limit_refuses_the_next_evaluation_before_and_at_submit(
    web: WebStack, shots: Path, api: httpx.Client
) -> None:
    hard = step(web, shots, "create-budget", name="Org hard cap", limit="0.001", hard=True)
    seen = step(web, shots, "hard-limit", datasetName="sample_rag")
    assert "Refused by a hard limit" in seen["refusal"] and "Org hard cap" in seen["refusal"]
    assert seen["buttonDisabled"]
    datasets = data(api.get("/api/v1/datasets"))["items"]
    body = {
        "dataset_id": datasets[0]["id"],
        "metrics": ["faithfulness", "answer_relevancy"],
        "project_id": "default",
        "judge": {"provider": "openai", "model": "gpt-4o-mini"},
    }
    refused = api.post("/api/v1/evaluations", json=body)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "BUDGET_EXCEEDED" and error["details"]["budget_id"] == hard["id"]


def test_every_page_passes_axe_and_works_from_the_keyboard(web: WebStack, shots: Path) -> None:
    seen = step(web, shots, "accessibility", budgetId=STATE["soft"],
                evaluationId=STATE["evaluation"])  # fmt: skip
    assert seen["violations"] == {page: [] for page in seen["violations"]}
    assert len(seen["violations"]) == 7
    assert seen["firstFocus"] == "token" and seen["skip"] == "Skip to content"
    assert seen["order"] == ["Cost dashboard", "Budgets", "New evaluation"]
    assert seen["landedOn"] == "/evaluations/new" and seen["focusVisible"]
