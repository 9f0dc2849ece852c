"""After an evaluation, the services' Prometheus metrics agree with the ledger."""

import secrets
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families
from rex_shared import topics
from rex_testkit.waiting import eventually
from rexctl.stack import SERVICES

from .conftest import System, read_topic, wait_caught_up

ROWS = [
    {
        "question": "What is the boiling point of water at sea level?",
        "contexts": ["At sea level, water boils at 100 degrees Celsius."],
        "answer": "Water boils at 100 degrees Celsius at sea level.",
    }
]
COST = "rex_llm_cost_usd_total"
CREDITED = "rex_llm_cost_credited_usd_total"


async def scrape(
    http: dict[str, httpx.AsyncClient],
) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """Every sample of every service's /metrics: service -> [(name, labels, value)]."""
    found = {}
    for name, *_ in SERVICES:
        response = await http[name].get("/metrics")
        assert response.status_code == 200, (name, response.text[:200])
        found[name] = [
            (s.name, dict(s.labels), s.value)
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        ]
    return found


def total(
    samples: dict[str, list[tuple[str, dict[str, str], float]]], name: str, **match: str
) -> float:
    """The sum of one series over every service and label set matching `match`."""
    return sum(
        value
        for per_service in samples.values()
        for sample, labels, value in per_service
        if sample == name and all(labels.get(k) == v for k, v in match.items())
    )


def spend(samples: dict[str, list[tuple[str, dict[str, str], float]]], org: str) -> Decimal:
    """Recorded cost less credited corrections for one org, as a dashboard computes it."""
    return Decimal(repr(total(samples, COST, org=org))) - Decimal(
        repr(total(samples, CREDITED, org=org))
    )


async def _calls_made(system: System, eval_id: str) -> int:
    conn = await asyncpg.connect(system.pg_admin_dsn)
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM evaluator.llm_calls WHERE evaluation_id = $1", UUID(eval_id)
        )
        return int(count)
    finally:
        await conn.close()


async def _run_evaluation(
    system: System, http: dict[str, httpx.AsyncClient], org: str
) -> tuple[str, Decimal]:
    """One evaluation for `org`, until the ledger holds every call; its id and ledger total."""
    h = system.headers(org)
    created = await http["evaluator"].post(
        "/api/v1/evaluations",
        headers=h,
        json={
            "project_id": "metrics",
            "metrics": ["faithfulness"],
            "judge": {"provider": "openai", "model": "gpt-4o-mini"},
            "rows": ROWS,
        },
    )
    assert created.status_code < 300, created.text
    eval_id = created.json()["data"]["id"]

    async def finished() -> Any:
        r = await http["evaluator"].get(f"/api/v1/evaluations/{eval_id}", headers=h)
        return r.json()["data"]["status"] in ("completed", "failed")

    await eventually(finished, within=90)
    made = await _calls_made(system, eval_id)
    assert made > 0

    async def ledger_complete() -> Any:
        r = await http["cost-ledger"].get(f"/api/v1/costs/evaluations/{eval_id}", headers=h)
        data = r.json().get("data") if r.status_code == 200 else None
        return data if data and data["calls"] == made else None

    ledger: Any = await eventually(ledger_complete, within=60)
    return eval_id, Decimal(ledger["total_cost"])


async def test_the_cost_counter_equals_the_ledger_total_and_ignores_redelivery(
    system: System, http: dict[str, httpx.AsyncClient]
) -> None:
    org = f"e2e-metrics-{secrets.token_hex(4)}"
    eval_id, ledger_total = await _run_evaluation(system, http, org)
    assert ledger_total > 0

    # The counter is a float64 for dashboards; the ledger is exact NUMERIC: equal to 1e-9.
    async def counted() -> bool:
        return abs(spend(await scrape(http), org) - ledger_total) <= ledger_total * Decimal("1e-9")

    await eventually(counted, within=30)

    # Deliver every call of the run again: the ledger skips them, and so must the counter.
    bootstrap = system.stack.kafka_bootstrap
    again = await read_topic(bootstrap, topics.LLM_CALL_COMPLETED, eval_id.encode())
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for r in again:
            await producer.send_and_wait(r.topic, value=r.value, key=r.key, headers=list(r.headers))
    finally:
        await producer.stop()
    await wait_caught_up(bootstrap, system.groups["cost-ledger"], topics.LLM_CALL_COMPLETED)
    after = await scrape(http)
    assert abs(spend(after, org) - ledger_total) <= ledger_total * Decimal("1e-9")


async def test_every_service_reports_its_traffic_and_the_pipeline_its_events(
    system: System, http: dict[str, httpx.AsyncClient]
) -> None:
    org = f"e2e-metrics-{secrets.token_hex(4)}"
    await _run_evaluation(system, http, org)
    samples = await scrape(http)
    for name, *_ in SERVICES:
        assert total(samples, "rex_http_request_duration_seconds_count", service=name) > 0, name
    published = total(samples, "rex_events_published_total", topic=topics.LLM_CALL_COMPLETED)
    consumed = total(samples, "rex_events_consumed_total", consumer="cost-ledger")
    assert published > 0 and consumed > 0
    lag = [
        labels
        for sample, labels, _ in samples["cost-ledger"]
        if sample == "rex_consumer_lag" and labels["topic"] == topics.LLM_CALL_COMPLETED
    ]
    assert lag, "the ledger reports no consumer lag"
    latency = total(samples, "rex_event_processing_latency_seconds_count", consumer="cost-ledger")
    assert latency > 0
