"""The budgets API on a real database: CRUD, scoping, roles, and 4xx for bad input."""

from typing import Any

import httpx
import pytest
from budget_it import get_data

BUDGETS = "/api/v1/budgets"
VALID: dict[str, Any] = {
    "name": "eval team",
    "type": "project",
    "entity_id": "proj-1",
    "limit_amount": "250.00",
    "period": "monthly",
    "is_hard_limit": True,
}


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], **change: Any
) -> dict[str, Any]:
    reply = await client.post(BUDGETS, json={**VALID, **change}, headers=headers)
    assert reply.status_code == 201, reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


async def test_a_created_budget_reads_back_with_its_current_period(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = await create(client, admin, timezone="Asia/Tokyo", thresholds=[25, "75.5", 100])
    assert (made["limit_amount"], made["thresholds"], made["timezone"]) == (
        "250",
        ["25", "75.5", "100"],
        "Asia/Tokyo",
    )
    fetched = await get_data(client, f"{BUDGETS}/{made['id']}", admin)
    current = fetched["current_period"]
    assert (current["usage_amount"], current["usage_percent"], current["remaining"]) == (
        "0",
        "0",
        "250",
    )
    assert current["period_start"] < current["period_end"]


async def test_an_organization_budget_defaults_to_the_callers_org(
    client: httpx.AsyncClient, org: str, admin: dict[str, str]
) -> None:
    made = await create(client, admin, type="organization", entity_id=None)
    assert made["entity_id"] == org
    reply = await client.post(
        BUDGETS, json={**VALID, "type": "organization", "entity_id": "someone-else"}, headers=admin
    )
    assert (reply.status_code, reply.json()["error"]["code"]) == (422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "change",
    [
        {"limit_amount": "0"},
        {"limit_amount": "-5"},
        {"limit_amount": 12.5},
        {"limit_amount": "1e400"},
        {"period": "fortnightly"},
        {"type": "team"},
        {"timezone": "Nowhere/Special"},
        {"thresholds": [0]},
        {"thresholds": [1001]},
        {"thresholds": "50"},
        {"name": "x" * 201},
        {"entity_id": None},
        {"is_hard_limit": "maybe"},
        {"limit_amount": None},
        {"filters": {"provider": "openai"}},
    ],
)
async def test_invalid_budgets_are_a_422_with_a_code(
    client: httpx.AsyncClient, admin: dict[str, str], change: dict[str, Any]
) -> None:
    reply = await client.post(BUDGETS, json={**VALID, **change}, headers=admin)
    assert (reply.status_code, reply.json()["error"]["code"]) == (422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("method", "path", "content", "status", "code"),
    [
        ("POST", BUDGETS, b'{"name": ', 400, "MALFORMED_JSON"),
        ("POST", BUDGETS, b"[1, 2]", 422, "VALIDATION_ERROR"),
        ("GET", f"{BUDGETS}/not-a-uuid", None, 422, "VALIDATION_ERROR"),
        ("GET", f"{BUDGETS}/6a3f0c1e-5b7e-4b8e-9c43-2f1d1d1d1d1d", None, 404, "NOT_FOUND"),
        ("GET", f"{BUDGETS}?cursor=garbage", None, 422, "INVALID_CURSOR"),
        ("GET", f"{BUDGETS}?limit=0", None, 422, "VALIDATION_ERROR"),
        ("GET", f"{BUDGETS}?limit=100000", None, 422, "VALIDATION_ERROR"),
        ("GET", f"{BUDGETS}?type=galaxy", None, 422, "VALIDATION_ERROR"),
        ("GET", f"{BUDGETS}/alerts?acknowledged=perhaps", None, 422, "VALIDATION_ERROR"),
        (
            "POST",
            f"{BUDGETS}/alerts/6a3f0c1e-5b7e-4b8e-9c43-2f1d1d1d1d1d/acknowledge",
            None,
            404,
            "NOT_FOUND",
        ),
        ("PATCH", BUDGETS, None, 405, "METHOD_NOT_ALLOWED"),
    ],
)
async def test_bad_requests_are_4xx_with_a_code_never_500(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    method: str,
    path: str,
    content: bytes | None,
    status: int,
    code: str,
) -> None:
    headers = {**admin, "content-type": "application/json"}
    reply = await client.request(method, path, content=content, headers=headers)
    assert (reply.status_code, reply.json()["error"]["code"]) == (status, code)


async def test_only_an_admin_may_create_change_or_delete_a_budget(
    client: httpx.AsyncClient, org: str, admin: dict[str, str], auth_headers: Any
) -> None:
    made = await create(client, admin)
    for role in ("member", "viewer"):
        headers = auth_headers(org, "bob", (role,))
        replies = [
            await client.post(BUDGETS, json=VALID, headers=headers),
            await client.put(f"{BUDGETS}/{made['id']}", json={"name": "x"}, headers=headers),
            await client.delete(f"{BUDGETS}/{made['id']}", headers=headers),
        ]
        assert [(r.status_code, r.json()["error"]["code"]) for r in replies] == [
            (403, "FORBIDDEN")
        ] * 3
    viewer = auth_headers(org, "vera", ("viewer",))
    assert (await client.get(f"{BUDGETS}/{made['id']}", headers=viewer)).status_code == 200


async def test_a_member_sees_only_their_own_user_budgets_and_alerts(
    client: httpx.AsyncClient, org: str, admin: dict[str, str], auth_headers: Any
) -> None:
    project = await create(client, admin)
    mine = await create(client, admin, type="user", entity_id="bob")
    theirs = await create(client, admin, type="user", entity_id="carol")
    bob = auth_headers(org, "bob", ("member",))
    listed = await get_data(client, BUDGETS, bob)
    assert [b["id"] for b in listed["items"]] == [mine["id"]]
    assert (await client.get(f"{BUDGETS}/{mine['id']}", headers=bob)).status_code == 200
    for other in (project, theirs):
        for path in (f"{BUDGETS}/{other['id']}", f"{BUDGETS}/{other['id']}/periods"):
            reply = await client.get(path, headers=bob)
            assert (reply.status_code, reply.json()["error"]["code"]) == (404, "NOT_FOUND")
    viewer = await get_data(client, BUDGETS, auth_headers(org, "vera", ("viewer",)))
    assert len(viewer["items"]) == 3


async def test_a_token_without_a_known_role_reads_nothing(
    client: httpx.AsyncClient, org: str, auth_headers: Any
) -> None:
    for roles in ((), ("guest",)):
        reply = await client.get(BUDGETS, headers=auth_headers(org, "x", roles))
        assert (reply.status_code, reply.json()["error"]["code"]) == (403, "FORBIDDEN")


async def test_another_orgs_budget_is_not_found(
    client: httpx.AsyncClient, admin: dict[str, str], auth_headers: Any
) -> None:
    made = await create(client, admin)
    stranger = auth_headers("org-stranger", "eve", ("admin",))
    path = f"{BUDGETS}/{made['id']}"
    replies = [
        await client.get(path, headers=stranger),
        await client.put(path, json={"name": "mine now"}, headers=stranger),
        await client.delete(path, headers=stranger),
        await client.get(f"{path}/periods", headers=stranger),
    ]
    assert [r.status_code for r in replies] == [404] * 4
    listed = await get_data(client, BUDGETS, stranger)
    assert made["id"] not in [b["id"] for b in listed["items"]]


async def test_a_budget_can_be_changed_but_not_moved(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = await create(client, admin)
    path = f"{BUDGETS}/{made['id']}"
    reply = await client.put(
        path,
        json={
            "limit_amount": "300",
            "thresholds": [90],
            "period": "weekly",
            "timezone": "Europe/Berlin",
        },
        headers=admin,
    )
    assert reply.status_code == 200, reply.text
    changed = reply.json()["data"]
    assert (changed["limit_amount"], changed["thresholds"], changed["period"], changed["name"]) == (
        "300",
        ["90"],
        "weekly",
        "eval team",
    )
    for body in ({"type": "user"}, {"entity_id": "proj-2"}, {"limit_amount": "0"}):
        reply = await client.put(path, json=body, headers=admin)
        assert (reply.status_code, reply.json()["error"]["code"]) == (422, "VALIDATION_ERROR")


async def test_deleting_archives_the_budget_and_keeps_it_readable(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = await create(client, admin)
    path = f"{BUDGETS}/{made['id']}"
    reply = await client.delete(path, headers=admin)
    assert reply.status_code == 200 and reply.json()["data"]["archived_at"]
    assert (await get_data(client, path, admin))["archived_at"]
    assert made["id"] not in [b["id"] for b in (await get_data(client, BUDGETS, admin))["items"]]
    archived = await get_data(client, BUDGETS, admin, include_archived="true")
    assert made["id"] in [b["id"] for b in archived["items"]]
    reply = await client.put(path, json={"name": "again"}, headers=admin)
    assert (reply.status_code, reply.json()["error"]["code"]) == (409, "BUDGET_ARCHIVED")


async def test_lists_page_with_a_cursor_and_filter_by_type_and_entity(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = [await create(client, admin, entity_id=f"proj-{i}") for i in range(3)]
    await create(client, admin, type="user", entity_id="user-9")
    first = await get_data(client, BUDGETS, admin, type="project", limit=2)
    second = await get_data(
        client, BUDGETS, admin, type="project", limit=2, cursor=first["next_cursor"]
    )
    assert second["next_cursor"] is None
    ids = [b["id"] for b in first["items"] + second["items"]]
    assert ids == [b["id"] for b in reversed(made)]  # newest first, each exactly once
    only = await get_data(client, BUDGETS, admin, entity_id="proj-1")
    assert [b["id"] for b in only["items"]] == [made[1]["id"]]
