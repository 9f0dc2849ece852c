"""One evaluation through all four services: exact cost, exact usage, one email, one Slack post."""

import json
import secrets
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from rex_shared import topics
from rex_shared.events import LlmCallCompleted
from rex_testkit.waiting import eventually
from rexctl.oracle import independent_cost_of

from .conftest import System, read_topic, wait_caught_up

ROWS = [
    {
        "question": "Where is the Eiffel Tower?",
        "contexts": ["The Eiffel Tower is a wrought-iron tower in Paris, France."],
        "answer": "The Eiffel Tower is in Paris. It is made of wrought iron.",
    },
    {
        "question": "When did Apollo 11 land on the Moon?",
        "contexts": ["Apollo 11 landed on the Moon on 20 July 1969."],
        "answer": "Apollo 11 landed on the Moon in July 1969. It carried three astronauts.",
    },
]


async def _calls_made(system: System, eval_id: str) -> int:
    conn = await asyncpg.connect(system.pg_admin_dsn)
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM evaluator.llm_calls WHERE evaluation_id = $1", UUID(eval_id)
        )
        return int(count)
    finally:
        await conn.close()


async def _json(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()["data"]


async def test_one_evaluation_flows_to_ledger_budget_email_and_slack(
    system: System, http: dict[str, httpx.AsyncClient]
) -> None:
    org = f"e2e-{secrets.token_hex(4)}"
    h = system.headers(org)
    budget_name = f"Budget {org}"
    # A limit of one micro-dollar: the first priced call crosses 100%, later ones cross nothing.
    budget = await _json(
        await http["budget"].post(
            "/api/v1/budgets",
            headers=h,
            json={
                "name": budget_name,
                "type": "organization",
                "entity_id": org,
                "limit_amount": "0.000001",
                "period": "monthly",
                "thresholds": [100],
                "is_hard_limit": False,
            },
        )
    )

    created = await _json(
        await http["evaluator"].post(
            "/api/v1/evaluations",
            headers=h,
            json={
                "project_id": "proj-1",
                "metrics": ["faithfulness"],
                "judge": {"provider": "openai", "model": "gpt-4o-mini"},
                "rows": ROWS,
            },
        )
    )
    eval_id = created["id"]

    async def finished() -> Any:
        data = await _json(await http["evaluator"].get(f"/api/v1/evaluations/{eval_id}", headers=h))
        return data if data["status"] in ("completed", "failed") else None

    evaluation = await eventually(finished, within=90)
    assert evaluation["status"] == "completed"

    # The evaluator's own record of the calls it made is the truth the events must match.
    made = await _calls_made(system, eval_id)
    assert made >= 2 * len(ROWS)  # claims + verdicts per row

    async def all_published() -> list[LlmCallCompleted] | None:
        records = await read_topic(
            system.stack.kafka_bootstrap, topics.LLM_CALL_COMPLETED, eval_id.encode()
        )
        events = [LlmCallCompleted.model_validate_json(r.value) for r in records]
        return events if len(events) >= made else None

    calls = await eventually(all_published, within=60)
    assert len(calls) == made
    assert len({c.call_id for c in calls}) == made
    expected_total = sum((independent_cost_of(c) for c in calls), Decimal(0))
    assert expected_total > 0

    async def ledger_complete() -> Any:
        r = await http["cost-ledger"].get(f"/api/v1/costs/evaluations/{eval_id}", headers=h)
        return (
            r.json()["data"]
            if r.status_code == 200 and r.json()["data"]["calls"] == len(calls)
            else None
        )

    ledger = await eventually(ledger_complete, within=60)
    assert Decimal(ledger["total_cost"]) == expected_total

    async def usage_complete() -> Any:
        data = await _json(await http["budget"].get(f"/api/v1/budgets/{budget['id']}", headers=h))
        period = data["current_period"]
        return period if period and Decimal(period["usage_amount"]) == expected_total else None

    await eventually(usage_complete, within=60)

    def mails() -> list[Any]:
        return [
            m
            for m in system.mail.messages
            if budget_name in str(m["Subject"]) or budget_name in _body(m)
        ]

    def posts() -> list[Any]:
        return system.slack.received(budget_name)

    async def alerted() -> bool:
        return len(mails()) >= 1 and len(posts()) >= 1

    await eventually(alerted, within=60)
    await _settle_and_check_once(
        system, org, eval_id, h, http, expected_total, budget["id"], mails, posts
    )


async def _settle_and_check_once(
    system: System,
    org: str,
    eval_id: str,
    h: dict[str, str],
    http: dict[str, httpx.AsyncClient],
    total: Decimal,
    budget_id: str,
    mails: Any,
    posts: Any,
) -> None:
    """Deliver every call and cost event of the run a second time: nothing may change."""
    bootstrap = system.stack.kafka_bootstrap
    replay = await read_topic(
        bootstrap, topics.LLM_CALL_COMPLETED, eval_id.encode()
    ) + await read_topic(bootstrap, topics.LLM_COST_RECORDED, org.encode())
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for r in replay:
            await producer.send_and_wait(r.topic, value=r.value, key=r.key, headers=list(r.headers))
    finally:
        await producer.stop()
    await wait_caught_up(bootstrap, system.groups["cost-ledger"], topics.LLM_CALL_COMPLETED)
    await wait_caught_up(bootstrap, system.groups["budget"], topics.LLM_COST_RECORDED)

    ledger = await _json(
        await http["cost-ledger"].get(f"/api/v1/costs/evaluations/{eval_id}", headers=h)
    )
    assert Decimal(ledger["total_cost"]) == total
    budget = await _json(await http["budget"].get(f"/api/v1/budgets/{budget_id}", headers=h))
    assert Decimal(budget["current_period"]["usage_amount"]) == total
    alerts = await _json(await http["budget"].get("/api/v1/budgets/alerts", headers=h))
    items = alerts["items"] if isinstance(alerts, dict) else alerts
    assert len(items) == 1
    await wait_caught_up(bootstrap, system.groups["notifier"], topics.BUDGET_THRESHOLD_CROSSED)
    assert (len(mails()), len(posts())) == (1, 1)
    mail = mails()[0]
    assert mail.is_multipart()
    assert {p.get_content_type() for p in mail.walk()} >= {"text/plain", "text/html"}
    assert posts()[0].body["blocks"]


def _body(message: Any) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    return "".join(
        p.get_payload(decode=True).decode("utf-8", "replace") for p in parts if not p.is_multipart()
    )


async def test_bad_input_gets_a_4xx_with_a_code_from_every_service(
    system: System, http: dict[str, httpx.AsyncClient]
) -> None:
    h = {**system.headers(f"e2e-{secrets.token_hex(4)}"), "content-type": "application/json"}
    cases = [
        ("evaluator", "/api/v1/evaluations", b"{not json"),
        (
            "evaluator",
            "/api/v1/evaluations",
            json.dumps(
                {
                    "project_id": "p",
                    "metrics": ["no_such_metric"],
                    "judge": {"provider": "openai", "model": "gpt-4o-mini"},
                    "rows": ROWS,
                }
            ).encode(),
        ),
        (
            "budget",
            "/api/v1/budgets",
            json.dumps(
                {
                    "name": "b",
                    "type": "organization",
                    "entity_id": "x",
                    "limit_amount": "-5",
                    "period": "monthly",
                    "is_hard_limit": True,
                }
            ).encode(),
        ),
        ("cost-ledger", "/api/v1/costs/estimate", b"[]"),
    ]
    for service, path, body in cases:
        r = await http[service].post(path, headers=h, content=body)
        assert 400 <= r.status_code < 500, (service, path, r.status_code, r.text)
        assert r.json()["success"] is False and r.json()["error"]["code"], r.text
    r = await http["budget"].get("/api/v1/budgets")
    assert r.status_code == 401 and r.json()["error"]["code"]
