"""The channels API on a real PostgreSQL: CRUD by role, orgs that cannot see each other,
write-only secrets, row-level security, request rate limits."""

import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from notifier.adapters.deliveries_repo import PgDeliveries
from notifier.bootstrap import build_deps, create_app
from notifier.config import Settings
from notifier.domain.samples import threshold_crossed
from notifier.ports import NewDelivery
from rex_shared.crypto import SecretBox, new_kek
from rex_shared.db import create_pool, scope_to_org
from rex_testkit.infra import Infra
from rex_testkit.pg import role_dsns

Headers = Callable[..., dict[str, str]]
URL = "/api/v1/notifications/channels"
SECRET = f"s3cr3t-{uuid4().hex}"


@pytest.fixture
async def service_pool(notifier_dsn: str, infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    """A pool as the service has it: the request role, no RLS bypass on the session."""
    pool = await create_pool(role_dsns(infra, schema="notifier")[0], schema="notifier", max_size=4)
    yield pool
    await pool.close()


def _app(settings: Settings, pool: asyncpg.Pool, box: SecretBox) -> FastAPI:
    # The lifespan is not run: the routes get the real adapters over this pool.
    return create_app(settings, deps=build_deps(settings, pool=pool, box=box))


@pytest.fixture
async def client(service_pool: asyncpg.Pool, jwt_secret: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(jwt_secret=jwt_secret, database_url="postgresql://unused")
    app = _app(settings, service_pool, SecretBox(new_kek()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://n") as c:
        yield c


def _specs() -> list[dict[str, Any]]:
    return [
        {"kind": "email", "name": "mail", "config": {
            "host": "smtp.example.com", "port": 587, "tls": "starttls", "username": "rex",
            "sender": "rex@example.com", "recipients": ["a@example.com", "b@example.com"]},
         "secrets": {"password": f"pw-{SECRET}"}},
        {"kind": "slack", "name": "chat",
         "secrets": {"webhook_url": f"https://hooks.slack.com/services/T/B/{SECRET}"},
         "rules": [{"min_severity": "critical"}]},
        {"kind": "webhook", "name": "hook", "rate_limit": {"per_second": 3, "burst": 4},
         "secrets": {"url": f"https://rex.example.com/hook?token={SECRET}",
                     "signing_secret": f"sign-{SECRET}"}},
    ]  # fmt: skip


async def _create_all(client: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    created = []
    for spec in _specs():
        response = await client.post(URL, json=spec, headers=headers)
        assert response.status_code == 201, response.text
        assert SECRET not in response.text
        created.append(response.json()["data"])
    return created


async def test_an_admin_creates_lists_updates_and_deletes_channels_viewers_read_them(
    client: httpx.AsyncClient, org: str, auth_headers: Headers
) -> None:
    admin, viewer = auth_headers(org), auth_headers(org, roles=("viewer",))
    email, slack, hook = await _create_all(client, admin)
    assert email["secrets"] == {"password": SECRET[-4:].join(["...", ""])}
    assert slack["secrets"] == {"webhook_url": f"...{SECRET[-4:]}"}
    assert set(hook["secrets"]) == {"url", "signing_secret"}
    assert email["config"]["recipients"] == ["a@example.com", "b@example.com"]
    assert (email["rate_limit"], hook["rate_limit"]) == (
        {"per_second": 5.0, "burst": 20}, {"per_second": 3.0, "burst": 4}
    )  # fmt: skip
    assert slack["rules"][0]["min_severity"] == "critical"
    page1 = (await client.get(URL, params={"limit": 2}, headers=viewer)).json()["data"]
    page2 = (await client.get(URL, params={"cursor": page1["next_cursor"]}, headers=viewer)).json()
    names = [c["name"] for c in page1["items"] + page2["data"]["items"]]
    assert names == ["hook", "chat", "mail"] and page2["data"]["next_cursor"] is None
    assert (await client.get(URL, params={"kind": "slack"}, headers=viewer)).json()["data"][
        "items"
    ][0]["id"] == slack["id"]
    edited = {**_specs()[1], "name": "pager", "enabled": False}
    del edited["secrets"]  # left out: the stored webhook URL stays
    put = await client.put(f"{URL}/{slack['id']}", json=edited, headers=admin)
    assert put.status_code == 200, put.text
    assert (put.json()["data"]["name"], put.json()["data"]["enabled"]) == ("pager", False)
    assert put.json()["data"]["secrets"] == slack["secrets"]
    deleted = await client.delete(f"{URL}/{hook['id']}", headers=admin)
    assert deleted.json()["data"] == {"id": hook["id"], "deleted": True}
    gone = await client.get(f"{URL}/{hook['id']}", headers=viewer)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "NOT_FOUND")


async def test_another_org_gets_404s_and_an_empty_list(
    client: httpx.AsyncClient, org: str, auth_headers: Headers
) -> None:
    [email, *_] = await _create_all(client, auth_headers(org))
    other = auth_headers(f"other-{org}")
    path = f"{URL}/{email['id']}"
    assert (await client.get(URL, headers=other)).json()["data"]["items"] == []
    for method, target, body in [
        ("GET", path, None), ("PUT", path, _specs()[0]), ("DELETE", path, None),
        ("POST", f"{path}/test", None),
    ]:  # fmt: skip
        response = await client.request(method, target, json=body, headers=other)
        assert response.status_code == 404, (method, target, response.text)
    still = await client.get(path, headers=auth_headers(org))
    assert still.json()["data"]["name"] == "mail"


async def test_names_are_unique_per_org_and_a_kind_cannot_change(
    client: httpx.AsyncClient, org: str, auth_headers: Headers
) -> None:
    admin = auth_headers(org)
    email, slack, _ = await _create_all(client, admin)
    again = await client.post(URL, json=_specs()[0], headers=admin)
    elsewhere = await client.post(URL, json=_specs()[0], headers=auth_headers(f"other-{org}"))
    renamed = await client.put(f"{URL}/{slack['id']}", json={**_specs()[1], "name": "mail"},
                               headers=admin)  # fmt: skip
    rekinded = await client.put(f"{URL}/{email['id']}", json=_specs()[1], headers=admin)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "CHANNEL_NAME_TAKEN")
    assert elsewhere.status_code == 201
    assert (renamed.status_code, renamed.json()["error"]["code"]) == (409, "CHANNEL_NAME_TAKEN")
    assert (rekinded.status_code, rekinded.json()["error"]["code"]) == (409, "CHANNEL_KIND_CHANGED")
    await client.delete(f"{URL}/{elsewhere.json()['data']['id']}",
                        headers=auth_headers(f"other-{org}"))  # fmt: skip


async def test_row_level_security_shows_each_org_only_its_rows(
    client: httpx.AsyncClient,
    service_pool: asyncpg.Pool,
    pool: asyncpg.Pool,
    infra: Infra,
    org: str,
    auth_headers: Headers,
) -> None:
    await _create_all(client, auth_headers(org))
    other = f"other-{org}"
    await client.post(URL, json=_specs()[1], headers=auth_headers(other))
    default_id = uuid4()
    # A default channel (no org), as the owner's migrations and tests may write one.
    await pool.execute(
        "INSERT INTO channels (id, org_id, kind, name) VALUES ($1, NULL, 'slack', $2)",
        default_id, f"default-{org}",
    )  # fmt: skip
    worker = await asyncpg.connect(
        role_dsns(infra, schema="notifier")[1], server_settings={"search_path": "notifier"}
    )
    try:
        async with service_pool.acquire() as conn:
            async with conn.transaction():
                await scope_to_org(conn, org)
                mine = await conn.fetch("SELECT org_id, secret_hints FROM channels")
                with pytest.raises(asyncpg.InsufficientPrivilegeError):  # WITH CHECK
                    await conn.execute(
                        "INSERT INTO channels (org_id, kind, name) VALUES ($1, 'slack', 'x')", other
                    )
            unscoped = await conn.fetchval("SELECT count(*) FROM channels")
        seen = {r["org_id"] for r in await worker.fetch(
            "SELECT org_id FROM channels WHERE org_id IN ($1, $2) OR id = $3",
            org, other, default_id)}  # fmt: skip
    finally:
        await worker.close()
        await pool.execute("DELETE FROM channels WHERE id = $1 OR org_id = $2", default_id, other)
    assert {r["org_id"] for r in mine} == {org} and len(mine) == 3
    assert unscoped == 0  # forgot to scope: sees nothing, not everything
    assert seen == {org, other, None}  # the worker sees every org and the defaults
    assert SECRET not in json.dumps([dict(r) for r in mine])


async def test_deleting_a_channel_ends_its_waiting_deliveries(
    client: httpx.AsyncClient, pool: asyncpg.Pool, org: str, auth_headers: Headers
) -> None:
    _, slack, _ = await _create_all(client, auth_headers(org))
    data = threshold_crossed(kind="actual", severity="critical").model_dump(mode="json")
    row = NewDelivery(str(uuid4()), "budget.threshold.crossed", org, f"channel:{slack['id']}",
                      "slack", {**data, "org_id": org}, channel_id=slack["id"])  # fmt: skip
    assert await PgDeliveries(pool).add([row]) == 1
    await client.delete(f"{URL}/{slack['id']}", headers=auth_headers(org))
    [(status, error, channel_id)] = await pool.fetch(
        "SELECT status, last_error, channel_id FROM deliveries WHERE org_id = $1", org
    )
    assert (status, error, channel_id) == ("dead", "channel deleted", None)


async def test_a_member_sees_only_deliveries_about_their_own_user_budgets(
    client: httpx.AsyncClient, pool: asyncpg.Pool, org: str, auth_headers: Headers
) -> None:
    base = threshold_crossed(kind="actual", severity="info").model_dump(mode="json")
    payloads = [
        {**base, "org_id": org, "budget_type": "user", "entity_id": "alice"},
        {**base, "org_id": org, "budget_type": "user", "entity_id": "bob"},
        {**base, "org_id": org, "budget_type": "project", "entity_id": "alice"},
    ]
    rows = [NewDelivery(str(uuid4()), "budget.threshold.crossed", org, "email:nobody", "email", p)
            for p in payloads]  # fmt: skip
    await PgDeliveries(pool).add(rows)
    url = "/api/v1/notifications/deliveries"
    alice = auth_headers(org, user_id="alice", roles=("member",))
    seen = (await client.get(url, headers=alice)).json()["data"]["items"]
    everything = (await client.get(url, headers=auth_headers(org, roles=("viewer",)))).json()
    bobs = [i for i in everything["data"]["items"] if i["event"]["entity_id"] == "bob"]
    hidden = await client.get(f"{url}/{bobs[0]['id']}", headers=alice)
    assert [(i["event"]["budget_type"], i["event"]["entity_id"]) for i in seen] == [
        ("user", "alice")
    ]
    assert len(everything["data"]["items"]) == 3
    assert hidden.status_code == 404
    channels = await client.get(URL, headers=alice)
    assert channels.status_code == 403


async def test_requests_beyond_the_per_principal_limit_get_429_with_retry_after(
    service_pool: asyncpg.Pool, jwt_secret: str, org: str, auth_headers: Headers
) -> None:
    settings = Settings(
        jwt_secret=jwt_secret, database_url="postgresql://unused", rate_limit_per_principal=3
    )
    app = _app(settings, service_pool, SecretBox(new_kek()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://n") as c:
        statuses = [(await c.get(URL, headers=auth_headers(org))).status_code for _ in range(4)]
        limited = await c.get(URL, headers=auth_headers(org))
        someone_else = await c.get(URL, headers=auth_headers(org, user_id="carol"))
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert someone_else.status_code == 200


async def test_secrets_sealed_under_a_kek_no_longer_configured_are_a_409_not_a_500(
    client: httpx.AsyncClient, service_pool: asyncpg.Pool, jwt_secret: str, org: str,
    auth_headers: Headers,
) -> None:  # fmt: skip
    _, slack, _ = await _create_all(client, auth_headers(org))
    settings = Settings(jwt_secret=jwt_secret, database_url="postgresql://unused")
    rotated_away = _app(settings, service_pool, SecretBox(new_kek("k9")))  # another KEK only
    transport = httpx.ASGITransport(app=rotated_away)
    async with httpx.AsyncClient(transport=transport, base_url="http://n") as other:
        tested = await other.post(f"{URL}/{slack['id']}/test", headers=auth_headers(org))
        shown = await other.get(f"{URL}/{slack['id']}", headers=auth_headers(org))
    assert (tested.status_code, tested.json()["error"]["code"]) == (
        409, "CHANNEL_SECRETS_UNREADABLE"
    )  # fmt: skip
    assert shown.status_code == 200  # the rest of the channel is still readable
