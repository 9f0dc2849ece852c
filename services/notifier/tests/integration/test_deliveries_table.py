"""The deliveries table itself: keyset pages through the API, and claims safe to run at once."""

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
from notifier.adapters.deliveries_query import DeliveryQueries
from notifier.adapters.deliveries_repo import PgDeliveries
from notifier.bootstrap import create_app
from notifier.config import Settings
from notifier.domain.samples import threshold_crossed
from notifier.ports import NewDelivery


def _rows(org: str, key: str, count: int) -> list[NewDelivery]:
    data = threshold_crossed(kind="actual", severity="info").model_dump(mode="json")
    return [
        NewDelivery(str(uuid4()), "budget.threshold.crossed", org, key, "email", data)
        for _ in range(count)
    ]


async def test_adding_the_same_delivery_twice_keeps_one_row(pool: asyncpg.Pool, org: str) -> None:
    store, rows = PgDeliveries(pool), _rows(org, f"email:nobody-{uuid4().hex[:8]}", 3)
    assert await store.add(rows) == 3
    assert await store.add(rows) == 0
    assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE org_id = $1", org) == 3


async def test_concurrent_claims_never_hand_out_the_same_row(pool: asyncpg.Pool, org: str) -> None:
    key = f"email:nobody-{uuid4().hex[:8]}"  # a key no running notifier sends to
    store = PgDeliveries(pool)
    await store.add(_rows(org, key, 40))
    claims = await asyncio.gather(
        *(store.claim(limit=15, lease_s=60, channel_keys=[key]) for _ in range(4))
    )
    ids = [d.id for claim in claims for d in claim]
    assert len(ids) == len(set(ids)) == 40
    assert all(d.attempts == 1 for claim in claims for d in claim)
    assert await store.claim(limit=15, lease_s=60, channel_keys=[key]) == []  # leased


async def test_pages_list_every_delivery_of_the_org_once_newest_first(
    pool: asyncpg.Pool, org: str, jwt_secret: str, auth_headers: Callable[..., dict[str, str]]
) -> None:
    await PgDeliveries(pool).add(_rows(org, f"email:nobody-{uuid4().hex[:8]}", 7))
    app = create_app(Settings(jwt_secret=jwt_secret, database_url="postgresql://unused"))
    app.state.queries = DeliveryQueries(pool)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://n") as c:
        while True:
            params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
            response = await c.get("/api/v1/notifications/deliveries", params=params,
                                   headers=auth_headers(org))  # fmt: skip
            page = response.json()["data"]
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        one = await c.get(f"/api/v1/notifications/deliveries/{seen[0]['id']}",
                          headers=auth_headers(org))  # fmt: skip
        hidden = await c.get(f"/api/v1/notifications/deliveries/{seen[0]['id']}",
                             headers=auth_headers(f"x-{org}"))  # fmt: skip
    assert len(seen) == len({s["id"] for s in seen}) == 7
    assert [s["created_at"] for s in seen] == sorted((s["created_at"] for s in seen), reverse=True)
    assert one.json()["data"]["id"] == seen[0]["id"]
    assert hidden.status_code == 404
