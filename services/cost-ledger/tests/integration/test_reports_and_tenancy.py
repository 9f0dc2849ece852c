"""Aggregates, /summary, /daily, /calls (CSV too), member isolation, RLS and rate limits."""

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from rex_shared.events import LlmCallCompleted, Usage
from rex_testkit.waiting import eventually

from .conftest import llm_call
from .conftest import publish_calls as publish

DAY = datetime(2025, 10, 14, 9, tzinfo=UTC)
Headers = Callable[..., dict[str, str]]


def call(org: str, evaluation: UUID | None, **overrides: Any) -> LlmCallCompleted:
    fields: dict[str, Any] = {"project_id": "proj-a", "user_id": "alice", "latency_ms": 1000,
                              "usage": Usage(input_tokens=1_000_000)}  # fmt: skip
    return llm_call(org, evaluation, at=DAY, **{**fields, **overrides})


async def recorded(db: asyncpg.Connection, org: str, n: int) -> bool | None:
    count = await db.fetchval("SELECT count(*) FROM ledger_entries WHERE org_id = $1", org)
    return True if count >= n else None


def workload(org: str, evaluation: UUID) -> list[LlmCallCompleted]:
    """gpt-4o input is $2.50/MTok, so 1M input tokens cost exactly 2.5."""
    latencies = [100 * (i + 1) for i in range(20)]  # 100 .. 2000 ms
    calls = [  # alice's evaluation, then bob's calls outside any evaluation
        call(org, evaluation if i < 15 else None, row_index=i % 4, latency_ms=ms,
             metric="faithfulness" if i % 2 else "relevancy",
             user_id="alice" if i < 15 else "bob", project_id="proj-a" if i < 15 else "proj-b",
             completed_at=DAY + timedelta(days=i // 10))
        for i, ms in enumerate(latencies)
    ]  # fmt: skip
    calls.append(call(org, evaluation, status="failed", usage=Usage(), row_index=3,
                      metric="relevancy", latency_ms=50))  # fmt: skip
    calls.append(call(org, None, user_id="bob", project_id="proj-b"))  # outside evaluations
    return calls


async def test_evaluation_aggregates_summary_daily_and_calls_agree_with_the_ledger(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, db: asyncpg.Connection, org: str,
    auth_headers: Headers,
) -> None:  # fmt: skip
    evaluation, viewer = uuid4(), auth_headers(org, "vera", ("viewer",))
    calls = workload(org, evaluation)
    await publish(producer, calls)
    await eventually(lambda: recorded(db, org, len(calls)))

    got = (await client.get(f"/api/v1/costs/evaluations/{evaluation}", headers=viewer)).json()
    data = got["data"]
    assert (Decimal(data["total_cost"]), data["calls"], data["failed_calls"]) == (
        Decimal("37.5"), 16, 1)  # fmt: skip
    assert (data["qa_rows"], Decimal(data["avg_cost_per_qa_row"])) == (4, Decimal("9.375"))
    metrics = {m["metric"]: m for m in data["metrics"]}
    relevancy = metrics["relevancy"]  # latencies 100, 300, ..., 1500 and a failed 50
    assert (relevancy["calls"], relevancy["failed_calls"], relevancy["failure_rate"]) == (
        9, 1, str(Decimal(1) / Decimal(9)))  # fmt: skip
    assert 1500 >= relevancy["p95_latency_ms"] >= 1300 and relevancy["max_latency_ms"] == 1500

    month = {"period": "month", "from": "2025-10-01"}
    summary = (await client.get("/api/v1/costs/summary", headers=viewer,
                                params={**month, "group_by": "user"})).json()["data"]  # fmt: skip
    ledger_total = await db.fetchval(
        "SELECT sum(total_cost) FROM ledger_entries WHERE org_id = $1", org
    )
    assert Decimal(summary["total_cost"]) == ledger_total == Decimal("52.5")
    assert (summary["from"], summary["to"]) == ("2025-10-01", "2025-11-01")
    users = {g["key"]: Decimal(g["total_cost"]) for g in summary["groups"]}
    assert users == {"alice": Decimal("37.5"), "bob": Decimal("15")}
    metric_query = {**month, "group_by": "metric"}
    by_metric = (
        await client.get("/api/v1/costs/summary", headers=viewer, params=metric_query)
    ).json()["data"]
    assert {g["key"] for g in by_metric["groups"]} == {"faithfulness", "relevancy"}
    days = (
        await client.get(
            "/api/v1/costs/daily", headers=viewer, params={"from": "2025-10-01", "to": "2025-11-01"}
        )
    ).json()["data"]
    assert {d["day"]: Decimal(d["total_cost"]) for d in days["items"]} == {
        "2025-10-14": Decimal("27.5"), "2025-10-15": Decimal("25")}  # fmt: skip

    first = (await client.get("/api/v1/costs/calls", headers=viewer,
                              params={"limit": 15})).json()["data"]  # fmt: skip
    rest = (
        await client.get(
            "/api/v1/costs/calls",
            headers=viewer,
            params={"limit": 15, "cursor": first["next_cursor"]},
        )
    ).json()["data"]
    ids = [r["call_id"] for r in first["items"] + rest["items"]]
    assert sorted(ids) == sorted(str(c.call_id) for c in calls) and rest["next_cursor"] is None
    exported = await client.get("/api/v1/costs/calls", headers={**viewer, "accept": "text/csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert sum(Decimal(r["total_cost"]) for r in table) == ledger_total

    metrics_text = (await client.get("/metrics")).text
    mine = [line for line in metrics_text.splitlines() if f'org="{org}"' in line]
    assert any(line.startswith("rex_llm_cost_usd_total{") for line in mine)
    assert any(line.startswith("rex_llm_tokens_total{") and 'kind="input_tokens"' in line
               for line in mine)  # fmt: skip


async def test_members_see_only_their_own_costs(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, db: asyncpg.Connection, org: str,
    auth_headers: Headers,
) -> None:  # fmt: skip
    evaluation = uuid4()
    calls = workload(org, evaluation)
    await publish(producer, calls)
    await eventually(lambda: recorded(db, org, len(calls)))
    bob = auth_headers(org, "bob", ("member",))
    alice = auth_headers(org, "alice", ("member",))

    summary = (
        await client.get(
            "/api/v1/costs/summary", headers=bob, params={"from": "2025-10-01", "group_by": "user"}
        )
    ).json()["data"]
    assert [g["key"] for g in summary["groups"]] == ["bob"]
    assert Decimal(summary["total_cost"]) == Decimal("15")
    listed = (await client.get("/api/v1/costs/calls", headers=bob)).json()["data"]["items"]
    assert {r["user_id"] for r in listed} == {"bob"} and len(listed) == 6
    nosy = await client.get("/api/v1/costs/calls", headers=bob, params={"user_id": "alice"})
    assert (nosy.status_code, nosy.json().get("error", nosy.json())["code"]) == (
        403,
        "FORBIDDEN",
    ), nosy.text[:300]
    # The evaluation is alice's: bob gets a 404, as for another org's.
    theirs = await client.get(f"/api/v1/costs/evaluations/{evaluation}", headers=bob)
    assert theirs.status_code == 404
    own = await client.get(f"/api/v1/costs/evaluations/{evaluation}", headers=alice)
    assert own.status_code == 200


async def test_another_org_sees_nothing_and_rls_hides_rows_from_unscoped_queries(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, db: asyncpg.Connection, org: str,
    auth_headers: Headers, ledger_db: tuple[str, str],
) -> None:  # fmt: skip
    evaluation = uuid4()
    await publish(producer, [call(org, evaluation)])
    await eventually(lambda: recorded(db, org, 1))
    stranger = auth_headers(f"{org}-other", "eve", ("admin",))
    assert (await client.get(f"/api/v1/costs/evaluations/{evaluation}",
                             headers=stranger)).status_code == 404  # fmt: skip
    calls = (await client.get("/api/v1/costs/calls", headers=stranger)).json()["data"]["items"]
    summary = (await client.get("/api/v1/costs/summary", headers=stranger,
                                params={"from": "2025-10-01"})).json()["data"]  # fmt: skip
    assert calls == [] and summary["total_cost"] == "0"

    schema, dsn = ledger_db
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        async with conn.transaction():
            assert await conn.fetchval("SELECT count(*) FROM ledger_entries") == 0
            assert await conn.fetchval("SELECT count(*) FROM daily_costs") == 0
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.org_id', $1, true)", org)
            orgs = await conn.fetch("SELECT DISTINCT org_id FROM ledger_entries")
            assert [r["org_id"] for r in orgs] == [org]
            public = "SELECT count(*) FROM price_catalog WHERE org_id IS NULL"
            assert await conn.fetchval(public) > 1000  # public prices stay readable
    finally:
        await conn.close()


async def test_bad_report_queries_are_4xx_and_too_many_requests_a_429(
    client: httpx.AsyncClient, org: str, auth_headers: Headers,
) -> None:  # fmt: skip
    auth = auth_headers(org)
    for url in (
        "/api/v1/costs/summary?period=fortnight",
        "/api/v1/costs/summary?group_by=colour",
        "/api/v1/costs/summary?from=2025-10-05&to=2025-10-01",
        "/api/v1/costs/summary?from=2000-01-01&to=2025-01-01",
        "/api/v1/costs/daily?from=2020-01-01&to=2025-01-01",
        "/api/v1/costs/calls?limit=5000",
        "/api/v1/costs/calls?cursor=bm9wZQ",
        "/api/v1/costs/calls?status=lost",
        "/api/v1/costs/calls?metric=a%00b",
        "/api/v1/costs/summary?to=0001-01-01",
        "/api/v1/costs/summary?period=year&from=9999-06-01",
        "/api/v1/costs/calls?to=2025-01-01T00:00:00Z&to=0.0",  # one value each, never the last
        "/api/v1/costs/summary?period=day&group_by=model&period=year",
        "/api/v1/costs/summary?from=0",  # a number is not a date, not 1970-01-01
        "/api/v1/costs/daily?to=20261101",
        "/api/v1/costs/calls?from=1.5e9",
        "/api/v1/costs/pricing?at=0",
    ):
        reply = await client.get(url, headers=auth)
        assert reply.status_code == 422, url
    codes = [(await client.get("/api/v1/costs/daily", headers=auth)).status_code
             for _ in range(40)]  # fmt: skip
    assert codes[-1] == 429 and 200 in codes
    limited = await client.get("/api/v1/costs/daily", headers=auth)
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert int(limited.headers["retry-after"]) >= 1
