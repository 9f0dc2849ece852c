"""The deliveries table itself: keyset pages through the API, and claims safe to run at once."""

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from notifier.adapters.deliveries_repo import PgDeliveries
from notifier.bootstrap import build_deps, create_app
from notifier.config import Settings
from notifier.domain.channels import RateLimit
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
    ids = [d.id for claim in claims for d, _ in claim]
    assert len(ids) == len(set(ids)) == 40
    assert all(d.attempts == 1 and wait == 0.0 for claim in claims for d, wait in claim)
    assert await store.claim(limit=15, lease_s=60, channel_keys=[key]) == []  # leased


async def test_pages_list_every_delivery_of_the_org_once_newest_first(
    pool: asyncpg.Pool, org: str, jwt_secret: str, auth_headers: Callable[..., dict[str, str]]
) -> None:
    await PgDeliveries(pool).add(_rows(org, f"email:nobody-{uuid4().hex[:8]}", 7))
    settings = Settings(jwt_secret=jwt_secret, database_url="postgresql://unused")
    app = create_app(settings, deps=build_deps(settings, pool=pool))
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


async def test_a_channel_gives_out_only_what_its_rate_lets_go_newest_first(
    pool: asyncpg.Pool, org: str
) -> None:
    key = f"slack:nobody-{uuid4().hex[:8]}"
    backlog, fresh = _rows(org, key, 30), _rows(org, key, 1)
    slow = {key: RateLimit(per_second=1, burst=1)}
    first, second = (PgDeliveries(pool, default_rates=slow) for _ in range(2))  # 2 instances
    await first.add(backlog)
    await first.add(fresh)  # the alert that arrives while the channel is backed up
    claimed = await first.claim(limit=100, lease_s=60, channel_keys=[key])
    again = await second.claim(limit=100, lease_s=60, channel_keys=[key])
    assert [(d.event_id, wait) for d, wait in claimed][:1] == [(fresh[0].event_id, 0.0)]
    assert [wait for _, wait in claimed] == pytest.approx([0.0, 1.0])  # slots 0 s and 1 s
    assert again == []  # the other instance shares the bucket: the next slot is 2 s away
    waiting = await pool.fetchval(
        "SELECT count(*) FROM deliveries WHERE channel_key = $1 AND attempts = 0", key
    )
    assert waiting == 29  # the rest wait in the table, untouched
