"""The HTTP API in memory: auth, roles, validation codes and the preview (no database)."""

from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from notifier.bootstrap import create_app
from notifier.config import Settings

ORG = "org-wiring"


class NoDeliveries:
    """DeliveryQueries with an empty table."""

    async def page(self, **_: Any) -> list[Any]:
        return []

    async def get(self, **_: Any) -> None:
        return None

    async def retry_dead(self, **_: Any) -> None:
        return None


@pytest.fixture
def app(jwt_secret: str) -> FastAPI:
    settings = Settings(jwt_secret=jwt_secret, dashboard_url="https://rex.example.com")
    app = create_app(settings)
    app.state.queries = NoDeliveries()  # the lifespan (not run here) would set the real one
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
        yield client


async def test_the_preview_renders_email_and_slack(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    response = await client.get(
        "/api/v1/notifications/preview",
        params={"event": "budget.threshold.crossed", "kind": "forecast", "severity": "critical"},
        headers=auth_headers(ORG, roles=("viewer",)),
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert "Critical" in data["subject"] and "forecast" in data["subject"]
    assert data["html"].startswith("<!DOCTYPE html>")
    assert "https://rex.example.com/budgets/" in data["text"]
    assert data["slack"]["attachments"][0]["color"] == "#dc2626"


async def test_an_unknown_event_type_is_a_422_with_a_code(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    response = await client.get(
        "/api/v1/notifications/preview",
        params={"event": "budget.nonsense"},
        headers=auth_headers(ORG),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "UNKNOWN_EVENT_TYPE"
    assert error["details"]["known"] == ["budget.threshold.crossed"]


async def test_an_unknown_kind_or_severity_is_a_validation_error(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    for params in ({"kind": "guess"}, {"severity": "meh"}):
        response = await client.get(
            "/api/v1/notifications/preview",
            params={"event": "budget.threshold.crossed", **params},
            headers=auth_headers(ORG),
        )
        assert (response.status_code, response.json()["error"]["code"]) == (
            422, "VALIDATION_ERROR"
        )  # fmt: skip


async def test_every_route_needs_a_bearer_token(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/v1/notifications/deliveries"),
        ("GET", "/api/v1/notifications/preview?event=budget.threshold.crossed"),
        ("POST", f"/api/v1/notifications/deliveries/{uuid4()}/retry"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 401, path


async def test_retrying_needs_the_admin_role(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    path = f"/api/v1/notifications/deliveries/{uuid4()}/retry"
    viewer = await client.post(path, headers=auth_headers(ORG, roles=("viewer", "member")))
    admin = await client.post(path, headers=auth_headers(ORG, roles=("admin",)))
    assert (viewer.status_code, viewer.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert (admin.status_code, admin.json()["error"]["code"]) == (404, "NOT_FOUND")


async def test_bad_list_parameters_are_422_with_a_code(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    url = "/api/v1/notifications/deliveries"
    cases = [
        ({"cursor": "garbage!"}, "INVALID_CURSOR"),
        ({"status": "lost"}, "VALIDATION_ERROR"),
        ({"limit": "0"}, "VALIDATION_ERROR"),
        ({"limit": "201"}, "VALIDATION_ERROR"),
    ]
    for params, code in cases:
        response = await client.get(url, params=params, headers=auth_headers(ORG))
        assert (response.status_code, response.json()["error"]["code"]) == (422, code), params


async def test_an_empty_list_has_no_next_cursor(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    response = await client.get("/api/v1/notifications/deliveries", headers=auth_headers(ORG))
    assert response.json() == {"success": True, "data": {"items": [], "next_cursor": None}}
