"""Pre-flight checks and reservations on a real database, across two service instances."""

import asyncio
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from budget_it import cost_recorded, get_data, publish, wait_for_usage
from rex_testkit.waiting import eventually

BUDGETS = "/api/v1/budgets"
RESERVE = f"{BUDGETS}/reservations"


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> str:
    body = {"name": "b", "period": "monthly", "is_hard_limit": True, **body}
    reply = await client.post(BUDGETS, json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["data"]["id"])


def ask(estimate: str, **change: Any) -> dict[str, Any]:
    return {
        "project_id": "proj-1",
        "user_id": "user-1",
        "estimated_cost": estimate,
        "evaluation_id": str(uuid4()),
        **change,
    }


async def totals_match(db: asyncpg.Pool, *budget_ids: str) -> None:
    """Each budget's running hold total (budget_holds) is the sum of its holds' rows."""
    rows = await db.fetch(
        "SELECT b.id, coalesce(t.held_amount, 0) AS total,"
        " (SELECT coalesce(sum(h.held_amount), 0) FROM reservation_holds h"
        "  WHERE h.budget_id = b.id) AS summed"
        " FROM budgets b LEFT JOIN budget_holds t ON t.budget_id = b.id"
        " WHERE b.id = ANY($1::uuid[])",
        list(budget_ids),
    )
    assert len(rows) == len(budget_ids)
    assert {str(r["id"]): r["total"] for r in rows} == {str(r["id"]): r["summed"] for r in rows}


async def test_fifty_concurrent_ten_dollar_holds_on_a_hundred_dollar_budget_ten_succeed(
    client: httpx.AsyncClient,
    second_client: httpx.AsyncClient,
    db: asyncpg.Pool,
    org: str,
    admin: dict[str, str],
    auth_headers: Callable[..., dict[str, str]],
) -> None:
    budget_id = await create(client, admin, type="organization", limit_amount="100", name="cap")
    service = auth_headers(org, "evaluator", ("service",))
    instances = [client, second_client]
    # Both instances' pools warmed up first, so neither wins the race below by having its
    # database connections open already.
    check = {"project_id": "proj-1", "user_id": "user-1", "estimated_cost": "10"}
    warm = await asyncio.gather(
        *(instances[i % 2].post(f"{BUDGETS}/check", json=check, headers=service) for i in range(40))
    )
    assert {r.status_code for r in warm} == {200}
    # Interleaved across the two instances (separate apps, separate pools), all at once.
    replies = await asyncio.gather(
        *(instances[i % 2].post(RESERVE, json=ask("10"), headers=service) for i in range(50))
    )
    codes = sorted(r.status_code for r in replies)
    assert codes == [201] * 10 + [409] * 40
    for refused in (r for r in replies if r.status_code == 409):
        error = refused.json()["error"]
        assert error["code"] == "BUDGET_EXCEEDED"
        assert (error["details"]["budget_id"], error["details"]["budget_name"]) == (
            budget_id,
            "cap",
        )
        assert (error["details"]["limit_amount"], error["details"]["requested"]) == ("100", "10")
        assert D(error["details"]["held_amount"]) == D(100)
    held = await db.fetchval(
        "SELECT sum(held_amount) FROM reservation_holds WHERE budget_id = $1", budget_id
    )
    assert held == D(100)
    await totals_match(db, budget_id)
    served_by = {str(r.request.url.host) for r in replies if r.status_code == 201}
    assert served_by == {"budget", "budget-2"}


async def test_check_answers_without_side_effects(
    client: httpx.AsyncClient, db: asyncpg.Pool, org: str, admin: dict[str, str]
) -> None:
    hard = await create(client, admin, type="project", entity_id="proj-1", limit_amount="5")
    soft = await create(
        client, admin, type="user", entity_id="user-1", limit_amount="1", is_hard_limit=False
    )
    body = {"project_id": "proj-1", "user_id": "user-1", "estimated_cost": "4.5"}
    reply = await client.post(f"{BUDGETS}/check", json=body, headers=admin)
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert data["allowed"] is True and data["exceeded"] == []
    warned = {w["budget_id"]: w for w in data["warnings"]}
    assert warned[soft]["usage_percent_after"] == "450"
    assert warned[hard]["usage_percent_after"] == "90"
    over = await client.post(
        f"{BUDGETS}/check", json={**body, "estimated_cost": "5.01"}, headers=admin
    )
    [exceeded] = over.json()["data"]["exceeded"]
    assert over.json()["data"]["allowed"] is False
    assert (exceeded["budget_id"], exceeded["usage_amount"], exceeded["held_amount"]) == (
        hard,
        "0",
        "0",
    )
    rows = await db.fetchval(
        "SELECT count(*) FROM budget_periods WHERE budget_id = ANY($1::uuid[])", [hard, soft]
    )
    assert rows == 0  # nothing written, not even an empty period


async def test_a_hold_shrinks_as_costs_arrive_and_settling_releases_the_rest(
    client: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    db: asyncpg.Pool,
    org: str,
    admin: dict[str, str],
) -> None:
    budget_id = await create(client, admin, type="organization", limit_amount="10")
    user_budget = await create(client, admin, type="user", entity_id="user-1", limit_amount="50")
    made = await client.post(RESERVE, json=ask("6"), headers=admin)
    assert made.status_code == 201, made.text
    reservation = made.json()["data"]
    assert (reservation["status"], reservation["held_amount"]) == ("active", "6")
    assert sorted(reservation["budgets"]) == sorted([budget_id, user_budget])
    evaluation = reservation["evaluation_id"]
    await publish(
        producer,
        cost_recorded(org, "1.25", evaluation_id=evaluation),
        cost_recorded(org, "0.75", evaluation_id=evaluation),
        cost_recorded(org, "-0.5", evaluation_id=evaluation),  # a correction
    )
    await wait_for_usage(client, budget_id, admin, D("1.5"))
    path = f"{RESERVE}/{reservation['id']}"

    async def shrunk() -> Any:
        data = await get_data(client, path, admin)
        return data if data["held_amount"] == "4.5" else None

    assert (await eventually(shrunk, what="the hold to shrink"))["consumed_amount"] == "1.5"
    await totals_match(db, budget_id, user_budget)
    # Usage 1.5 + held 4.5 = 6: exactly 4 more fit, 4.01 does not.
    check = {"project_id": "proj-1", "user_id": "user-1", "estimated_cost": "4"}
    fits = await client.post(f"{BUDGETS}/check", json=check, headers=admin)
    assert fits.json()["data"]["allowed"] is True
    refused = await client.post(RESERVE, json=ask("4.01"), headers=admin)
    assert refused.status_code == 409
    settled = await client.post(f"{path}/settle", headers=admin)
    assert settled.json()["data"] == {
        "id": reservation["id"],
        "status": "settled",
        "released_amount": "4.5",
    }
    again = await client.post(f"{path}/settle", headers=admin)
    assert again.json()["data"]["status"] == "settled"
    await totals_match(db, budget_id, user_budget)
    assert (await client.post(RESERVE, json=ask("8.5"), headers=admin)).status_code == 201
    await totals_match(db, budget_id, user_budget)


async def test_the_same_evaluation_reserving_twice_gets_its_hold_back(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(client, admin, type="organization", limit_amount="10")
    body = ask("7")
    first = (await client.post(RESERVE, json=body, headers=admin)).json()["data"]
    second = await client.post(RESERVE, json=body, headers=admin)
    assert second.status_code == 201 and second.json()["data"]["id"] == first["id"]


async def test_an_expired_hold_counts_for_nothing_and_the_sweep_marks_it(
    client: httpx.AsyncClient, db: asyncpg.Pool, admin: dict[str, str]
) -> None:
    await create(client, admin, type="organization", limit_amount="10")
    made = (await client.post(RESERVE, json=ask("9"), headers=admin)).json()["data"]
    assert (await client.post(RESERVE, json=ask("2"), headers=admin)).status_code == 409
    # A crashed evaluator never settles: let its hold run past its expiry.
    await db.execute(
        "UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = $1",
        made["id"],
    )
    await db.execute(
        "UPDATE reservation_holds SET expires_at = now() - interval '1 second'"
        " WHERE reservation_id = $1",
        made["id"],
    )
    assert (await client.post(RESERVE, json=ask("2"), headers=admin)).status_code == 201

    async def swept() -> Any:
        data = await get_data(client, f"{RESERVE}/{made['id']}", admin)
        return data["status"] == "expired"

    await eventually(swept, within=10, what="the sweep to expire the hold")
    holds = await db.fetchval(
        "SELECT count(*) FROM reservation_holds WHERE reservation_id = $1", made["id"]
    )
    assert holds == 0
    await totals_match(db, *made["budgets"])


async def test_an_evaluation_whose_hold_expired_unswept_gets_a_new_one(
    client: httpx.AsyncClient, db: asyncpg.Pool, admin: dict[str, str]
) -> None:
    budget_id = await create(client, admin, type="organization", limit_amount="10")
    body = ask("9")
    first = (await client.post(RESERVE, json=body, headers=admin)).json()["data"]
    for table, key in (("reservations", "id"), ("reservation_holds", "reservation_id")):
        await db.execute(
            f"UPDATE {table} SET expires_at = now() - interval '1 second' WHERE {key} = $1",
            first["id"],
        )
    again = await client.post(RESERVE, json=body, headers=admin)
    assert again.status_code == 201, again.text
    assert again.json()["data"]["id"] != first["id"]
    old = await get_data(client, f"{RESERVE}/{first['id']}", admin)
    assert (old["status"], old["held_amount"]) == ("expired", "0")
    await totals_match(db, budget_id)
    held = await db.fetchval(
        "SELECT sum(held_amount) FROM reservation_holds WHERE budget_id = $1", budget_id
    )
    assert held == D(9)


async def test_a_refused_reservation_writes_nothing(
    client: httpx.AsyncClient, db: asyncpg.Pool, admin: dict[str, str]
) -> None:
    budget_id = await create(client, admin, type="project", entity_id="proj-1", limit_amount="5")
    refused = await client.post(RESERVE, json=ask("5.01"), headers=admin)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "BUDGET_EXCEEDED")
    for table in ("budget_periods", "reservation_holds", "budget_holds"):
        rows = await db.fetchval(f"SELECT count(*) FROM {table} WHERE budget_id = $1", budget_id)
        assert rows == 0, table
    assert (await client.post(RESERVE, json=ask("5"), headers=admin)).status_code == 201
    await totals_match(db, budget_id)


async def test_who_may_check_reserve_and_settle(
    client: httpx.AsyncClient,
    org: str,
    admin: dict[str, str],
    auth_headers: Callable[..., dict[str, str]],
) -> None:
    await create(client, admin, type="user", entity_id="user-1", limit_amount="10")
    viewer = auth_headers(org, "vera", ("viewer",))
    member = auth_headers(org, "user-1", ("member",))
    other_member = auth_headers(org, "user-2", ("member",))
    check = {"project_id": "proj-1", "user_id": "user-1", "estimated_cost": "1"}
    assert (await client.post(f"{BUDGETS}/check", json=check, headers=viewer)).status_code == 200
    assert (await client.post(RESERVE, json=ask("1"), headers=viewer)).status_code == 403
    for path, body in ((f"{BUDGETS}/check", check), (RESERVE, ask("1"))):
        reply = await client.post(path, json=body, headers=other_member)
        assert (reply.status_code, reply.json()["error"]["code"]) == (403, "FORBIDDEN")
    mine = await client.post(RESERVE, json=ask("1"), headers=member)
    assert mine.status_code == 201
    path = f"{RESERVE}/{mine.json()['data']['id']}"
    assert (await client.post(f"{path}/settle", headers=other_member)).status_code == 404
    stranger = auth_headers("org-elsewhere", "evaluator", ("service",))
    assert (await client.post(f"{path}/settle", headers=stranger)).status_code == 404
    assert (await client.get(path, headers=stranger)).status_code == 404
    assert (await client.post(f"{path}/settle", headers=member)).status_code == 200


async def test_bad_reservation_requests_are_4xx_with_a_code(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for body in (
        ask("-1"),
        ask("0.0000000000000000001"),
        ask("1e30"),
        {**ask("1"), "evaluation_id": "nope"},
        {**ask("1"), "org_id": "someone-else"},
        {"project_id": "p"},
    ):
        reply = await client.post(RESERVE, json=body, headers=admin)
        assert (reply.status_code, reply.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
    reply = await client.post(RESERVE, json={**ask("1"), "estimated_cost": 1.5}, headers=admin)
    assert reply.status_code == 422
    missing = await client.post(f"{RESERVE}/{uuid4()}/settle", headers=admin)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NOT_FOUND")
