"""Admin prices, the 100x guard, unpriced calls and repricing by adjustment entries."""

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar
from uuid import uuid4, uuid5

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rex_shared.events import REX_NAMESPACE, LlmCostRecorded, Usage
from rex_testkit.waiting import eventually

from .conftest import llm_call
from .conftest import publish_calls as publish

T = TypeVar("T")
AT = datetime(2025, 10, 1, 12, tzinfo=UTC)
Headers = Callable[..., dict[str, str]]
TopicEnd = Callable[[str], Awaitable[dict[TopicPartition, int]]]
PRICING = "/api/v1/costs/pricing"


call = partial(llm_call, at=AT)


async def rows_of(db: asyncpg.Connection, org: str, n: int) -> list[asyncpg.Record] | None:
    rows = await db.fetch("SELECT * FROM ledger_entries WHERE org_id = $1 ORDER BY seq", org)
    return list(rows) if len(rows) >= n else None


async def cost_events(bootstrap: str, start: dict[TopicPartition, int], org: str,
                      n: int) -> list[tuple[str, LlmCostRecorded]] | None:  # fmt: skip
    """(ce_id, event) of the org's cost events on the ledger's cost topic since `start`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        batch = await consumer.getmany(timeout_ms=1000)
    finally:
        await consumer.stop()
    mine = [
        (dict(r.headers)["ce_id"].decode(), LlmCostRecorded.model_validate_json(r.value))
        for records in batch.values()
        for r in records
        if json.loads(r.value)["org_id"] == org
    ]
    return mine if len(mine) >= n else None


def price_body(model: str, **rates: str) -> dict[str, Any]:
    return {"provider": "openai", "model": model, "effective_from": "2025-01-01T00:00:00Z",
            "rates": rates or {"input": "2", "output": "8"}}  # fmt: skip


async def test_an_unknown_model_is_recorded_unpriced_then_repriced_by_an_adjustment(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, db: asyncpg.Connection, org: str,
    auth_headers: Headers, ledger_app: Any, infra: Any, topic_end: TopicEnd,
) -> None:  # fmt: skip
    admin, evaluation = auth_headers(org, "ada", ("admin",)), uuid4()
    model = f"house-model-{uuid4().hex[:6]}"
    cost_topic = ledger_app.state.deps.settings.cost_topic
    start = await topic_end(cost_topic)
    unknown = call(org, evaluation, model=model, requested_model=model)
    await publish(producer, [unknown])
    (charge,) = await eventually(lambda: rows_of(db, org, 1))
    assert (charge["status"], charge["price_id"], charge["total_cost"]) == ("unpriced", None, 0)

    added = await client.post(PRICING, headers=admin, json=price_body(model))
    assert added.status_code == 201, added.text
    assert added.json()["data"]["org_id"] == org and added.json()["data"]["source"] == "admin"
    dry = (await client.post("/api/v1/costs/reprice", headers=admin, json={})).json()["data"]
    expected = Decimal(10_000 * 2 + 1_000 * 8) / 1_000_000
    assert (dry["dry_run"], dry["repriced"], Decimal(dry["delta_total"])) == (True, 1, expected)
    assert len(await db.fetch("SELECT 1 FROM ledger_entries WHERE org_id = $1", org)) == 1

    done = await client.post("/api/v1/costs/reprice", headers=admin, json={"dry_run": False})
    assert done.json()["data"]["repriced"] == 1
    charge_again, adjustment = await db.fetch(
        "SELECT * FROM ledger_entries WHERE org_id = $1 ORDER BY seq", org
    )
    assert dict(charge_again) == dict(charge)  # nothing updated in place
    assert (adjustment["entry_kind"], adjustment["seq"], adjustment["call_id"]) == (
        "adjustment", 1, unknown.call_id)  # fmt: skip
    assert adjustment["total_cost"] == expected and adjustment["input_tokens"] == 0
    totals = (await client.get(f"/api/v1/costs/evaluations/{evaluation}", headers=admin)).json()
    assert Decimal(totals["data"]["total_cost"]) == expected
    assert (totals["data"]["calls"], totals["data"]["unpriced_calls"]) == (1, 0)
    again = await client.post("/api/v1/costs/reprice", headers=admin, json={"dry_run": False})
    assert again.json()["data"]["repriced"] == 0

    events = await eventually(lambda: cost_events(infra.kafka_bootstrap, start, org, 2))
    by_kind = {e.entry_kind: (ce_id, e) for ce_id, e in events}
    ce_id, adj = by_kind["adjustment"]
    assert by_kind["charge"][1].status == "unpriced"
    assert (adj.status, adj.cost.total, adj.adjusts_call_id) == (
        "priced",
        expected,
        unknown.call_id,
    )
    assert ce_id == str(uuid5(REX_NAMESPACE, f"adjust:{adj.adjustment_id}"))


async def test_only_admins_add_prices_and_an_org_price_stays_in_its_org(
    client: httpx.AsyncClient, org: str, auth_headers: Headers,
) -> None:  # fmt: skip
    body = price_body("gpt-4o", input="2", output="8")
    for role in ("member", "viewer", "service"):
        denied = await client.post(PRICING, headers=auth_headers(org, "u", (role,)), json=body)
        assert (denied.status_code, denied.json()["error"]["code"]) == (403, "FORBIDDEN")
    admin = auth_headers(org, "ada", ("admin",))
    public = await client.post(PRICING, headers=admin, json={**body, "scope": "public"})
    assert public.status_code == 403
    added = await client.post(PRICING, headers=admin, json=body)
    assert added.status_code == 201, added.text
    twice = await client.post(PRICING, headers=admin, json=body)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "PRICE_EXISTS")

    query = {"provider": "openai", "model": "gpt-4o", "at": "2025-06-01T00:00:00Z"}
    mine = await client.get(PRICING, headers=admin, params=query)
    other = await client.get(PRICING, headers=auth_headers(f"{org}-b"), params=query)
    assert added.json()["data"]["id"] in {r["id"] for r in mine.json()["data"]["items"]}
    assert all(r["org_id"] is None for r in other.json()["data"]["items"])
    quote = {"provider": "openai", "model": "gpt-4o", "timestamp": "2025-06-01T00:00:00Z",
             "usage": {"input_tokens": 1_000_000}}  # fmt: skip
    ours = await client.post("/api/v1/costs/estimate", headers=admin, json=quote)
    theirs = await client.post("/api/v1/costs/estimate", headers=auth_headers(f"{org}-b"),
                               json=quote)  # fmt: skip
    assert (ours.json()["data"]["total_cost"], theirs.json()["data"]["total_cost"]) == ("2", "2.5")


async def test_a_price_100x_off_the_reference_needs_confirmation(
    client: httpx.AsyncClient, org: str, auth_headers: Headers,
) -> None:  # fmt: skip
    admin = auth_headers(org, "ada", ("admin",))
    per_token = price_body("gpt-4o", input="0.0000025", output="8")  # $/token typed as $/MTok
    refused = await client.post(PRICING, headers=admin, json=per_token)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "UNUSUAL_PRICE")
    assert refused.json()["error"]["details"]["rates"][0]["rate"] == "input"
    huge = await client.post(PRICING, headers=admin, json=price_body("gpt-4o", input="2500"))
    assert huge.json()["error"]["code"] == "UNUSUAL_PRICE"
    confirmed = await client.post(PRICING, headers=admin,
                                  json={**per_token, "confirm_unusual": True})  # fmt: skip
    assert confirmed.status_code == 201 and confirmed.json()["data"]["unusual"] == ["input"]
    floats = await client.post(PRICING, headers=admin,
                               json=price_body("gpt-4o", input=2.5))  # type: ignore[arg-type]  # fmt: skip
    assert (floats.status_code, floats.json()["error"]["code"]) == (422, "VALIDATION_ERROR")


async def test_repricing_is_admin_only(
    client: httpx.AsyncClient, org: str, auth_headers: Headers
) -> None:
    for role in ("member", "viewer"):
        reply = await client.post("/api/v1/costs/reprice", headers=auth_headers(org, "u", (role,)))
        assert reply.status_code == 403
    bad = await client.post("/api/v1/costs/reprice", headers=auth_headers(org),
                            json={"cursor": "!!not-a-cursor"})  # fmt: skip
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "INVALID_CURSOR")


async def test_a_retroactive_org_price_reprices_priced_calls_with_a_credit(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, db: asyncpg.Connection, org: str,
    auth_headers: Headers,
) -> None:  # fmt: skip
    admin, evaluation = auth_headers(org, "ada", ("admin",)), uuid4()
    priced = call(org, evaluation, usage=Usage(input_tokens=1_000_000))  # $2.50 public
    await publish(producer, [priced])
    await eventually(lambda: rows_of(db, org, 1))
    negotiated = price_body("gpt-4o", input="2", output="8")
    assert (await client.post(PRICING, headers=admin, json=negotiated)).status_code == 201

    backlog = await client.post("/api/v1/costs/reprice", headers=admin, json={})
    assert backlog.json()["data"]["repriced"] == 0  # the default scope: unpriced calls only
    run = {"include_priced": True, "dry_run": False, "model": "gpt-4o-2024-08-06"}
    done = (await client.post("/api/v1/costs/reprice", headers=admin, json=run)).json()["data"]
    assert (done["repriced"], Decimal(done["delta_total"])) == (1, Decimal("-0.5"))
    again = (await client.post("/api/v1/costs/reprice", headers=admin, json=run)).json()["data"]
    assert again["repriced"] == 0

    summary = await client.get("/api/v1/costs/summary", headers=admin,
                               params={"from": "2025-10-01"})  # fmt: skip
    totals = await client.get(f"/api/v1/costs/evaluations/{evaluation}", headers=admin)
    assert Decimal(summary.json()["data"]["total_cost"]) == Decimal(2)
    assert Decimal(totals.json()["data"]["total_cost"]) == Decimal(2)
    assert summary.json()["data"]["calls"] == 1  # an adjustment is not another call
    kinds = await client.get("/api/v1/costs/calls", headers=admin,
                             params={"entry_kind": "adjustment"})  # fmt: skip
    (credit,) = kinds.json()["data"]["items"]
    assert (credit["call_id"], credit["total_cost"]) == (str(priced.call_id), "-0.5")
