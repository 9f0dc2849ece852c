"""Defence in depth and HTTP hardening: row-level security, rate limits, body limits."""

from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from budget.adapters.pg import create_pool, scoped, trusted
from budget.bootstrap import create_app
from budget.config import SCHEMA, Settings
from rex_testkit.budget.schema import TENANT_TABLES

BUDGETS = "/api/v1/budgets"


@pytest.fixture
async def service_pool(budget_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool as the service opens it (no bypass)."""
    pool = await create_pool(budget_dsn, schema=SCHEMA, max_size=2)
    yield pool
    await pool.close()


async def make_budget(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    body = {"name": "b", "type": "organization", "limit_amount": "5", "period": "daily"}
    reply = await client.post(BUDGETS, json={**body, "is_hard_limit": True}, headers=headers)
    assert reply.status_code == 201, reply.text
    reserve = {
        "project_id": "p",
        "user_id": "u",
        "estimated_cost": "1",
        "evaluation_id": str(uuid4()),
    }
    assert (await client.post(f"{BUDGETS}/reservations", json=reserve, headers=headers)).is_success
    return str(reply.json()["data"]["id"])


async def fill_every_table(conn: Any, org: str, budget_id: str) -> None:
    """A firing, an alert and a closure beside the budget, its period and its hold."""
    period = await conn.fetchrow(
        "SELECT period_start, period_end FROM budget_periods WHERE budget_id = $1", budget_id
    )
    start, end = period["period_start"], period["period_end"]
    await conn.execute(
        "INSERT INTO threshold_firings (org_id, budget_id, period_start, threshold, kind,"
        " alert_id) VALUES ($1, $2, $3, 50, 'actual', $4)",
        org,
        budget_id,
        start,
        uuid4(),
    )
    await conn.execute(
        "INSERT INTO cost_alerts (id, org_id, budget_id, period_start, period_end, threshold,"
        " kind, severity, usage_amount, limit_amount, usage_percent, is_hard_limit, crossed_at)"
        " VALUES ($1, $2, $3, $4, $5, 50, 'actual', 'info', 1, 2, 50, true, now())",
        uuid4(),
        org,
        budget_id,
        start,
        end,
    )
    await conn.execute(
        "INSERT INTO period_closures (budget_id, period_start, org_id, period_end, usage_amount,"
        " events, alerts) VALUES ($1, $2, $3, $4, 0, 0, 0)",
        budget_id,
        start,
        org,
        end,
    )


async def test_row_level_security_shows_a_transaction_only_its_orgs_rows(
    client: httpx.AsyncClient,
    service_pool: asyncpg.Pool,
    auth_headers: Callable[..., dict[str, str]],
) -> None:
    orgs = [f"org-{uuid4().hex[:10]}" for _ in range(2)]
    ids = [await make_budget(client, auth_headers(o)) for o in orgs]
    async with trusted(service_pool) as conn:
        for org, budget_id in zip(orgs, ids, strict=True):
            await fill_every_table(conn, org, budget_id)
    for table in TENANT_TABLES:
        async with scoped(service_pool, orgs[0]) as conn:
            seen = {r["org_id"] for r in await conn.fetch(f"SELECT DISTINCT org_id FROM {table}")}
        assert orgs[0] in seen and orgs[1] not in seen, table  # no WHERE clause needed
    async with scoped(service_pool, orgs[0]) as conn:
        assert await conn.fetchval("SELECT count(*) FROM budgets WHERE id = $1", ids[1]) == 0
        assert await conn.fetchval("SELECT count(*) FROM budgets WHERE id = $1", ids[0]) == 1
    async with service_pool.acquire() as conn, conn.transaction():  # forgot to scope
        assert await conn.fetchval("SELECT count(*) FROM budgets") == 0
    async with trusted(service_pool) as conn:
        found = await conn.fetchval("SELECT count(*) FROM budgets WHERE id = ANY($1::uuid[])", ids)
        assert found == 2


async def test_row_level_security_refuses_writing_another_orgs_rows(
    service_pool: asyncpg.Pool,
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with scoped(service_pool, "org-a") as conn:
            await conn.execute(
                "INSERT INTO budgets (id, org_id, name, type, entity_id, limit_amount, period)"
                " VALUES ($1, 'org-b', 'x', 'organization', 'org-b', 1, 'daily')",
                uuid4(),
            )


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An API-only instance with tight rate limits."""
    app = create_app(
        settings.model_copy(
            update={
                "consumer_enabled": False,
                "rate_limit_per_principal": 3,
                "rate_limit_per_org": 5,
            }
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://budget") as c:
            yield c


async def test_rate_limits_per_principal_and_per_org_answer_429_with_retry_after(
    limited: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    org = f"org-{uuid4().hex[:10]}"
    alice, bob = auth_headers(org, "alice"), auth_headers(org, "bob")
    codes = [(await limited.get(BUDGETS, headers=alice)).status_code for _ in range(4)]
    assert codes[:3] == [200] * 3 and codes[3] == 429
    denied = await limited.get(BUDGETS, headers=alice)
    assert denied.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(denied.headers["Retry-After"]) <= 60
    # Bob has his own allowance, but the org's (5 a minute) is spent by now.
    assert (await limited.get(BUDGETS, headers=bob)).status_code == 429
    other = auth_headers(f"org-{uuid4().hex[:10]}", "carol")
    assert (await limited.get(BUDGETS, headers=other)).status_code == 200


async def test_an_oversized_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body: dict[str, Any] = {"name": "x" * 70_000}
    reply = await client.post(BUDGETS, json=body, headers=admin)
    assert (reply.status_code, reply.json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
