"""The HTTP API in memory: auth, roles, validation codes and the preview (no database)."""

from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from notifier.bootstrap import build_deps, create_app
from notifier.config import Settings
from notifier.domain.samples import SAMPLES

ORG = "org-wiring"


class NoDeliveries:
    """DeliveryReads over an empty table."""

    async def page(self, **_: Any) -> list[Any]:
        return []

    async def get(self, **_: Any) -> None:
        return None

    async def retry_dead(self, **_: Any) -> None:
        return None


class Unreached:
    """A table these tests never reach: roles and validation refuse first."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the API reached the table ({name})")


def _app(settings: Settings) -> FastAPI:
    fakes = {"deliveries": NoDeliveries(), "channels": Unreached(), "take": Unreached()}
    return create_app(settings, deps=build_deps(settings, **fakes))


@pytest.fixture
def app(jwt_secret: str) -> FastAPI:
    return _app(Settings(jwt_secret=jwt_secret, dashboard_url="https://rex.example.com"))


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
    assert error["details"]["known"] == sorted(SAMPLES)


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


def _api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) under /api/v1 from the OpenAPI document, ids filled in: routes
    added later are covered without editing this test."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        concrete = path.replace("{channel_id}", str(uuid4())).replace("{delivery_id}", str(uuid4()))
        found += [(m.upper(), concrete) for m in operations if path.startswith("/api/v1/")]
    return sorted(found)


async def test_every_route_needs_a_bearer_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    routes = _api_routes(app)
    assert len(routes) == 10  # deliveries 3, preview 1, channels 6
    for method, path in routes:
        response = await client.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"
        bad = await client.request(method, path, headers={"Authorization": "Bearer x.y.z"})
        assert (bad.status_code, bad.json()["error"]["code"]) == (401, "INVALID_TOKEN")


WRITES = [
    ("POST", "/api/v1/notifications/channels"),
    ("PUT", f"/api/v1/notifications/channels/{uuid4()}"),
    ("DELETE", f"/api/v1/notifications/channels/{uuid4()}"),
    ("POST", f"/api/v1/notifications/channels/{uuid4()}/test"),
    ("POST", f"/api/v1/notifications/deliveries/{uuid4()}/retry"),
]
SLACK = {"kind": "slack", "name": "s", "secrets": {"webhook_url": "https://hooks.example/x/y"}}


@pytest.mark.parametrize("role", ["viewer", "member", "service"])
async def test_only_an_admin_changes_or_tests_channels(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]], role: str
) -> None:
    for method, path in WRITES:
        body = SLACK if method in ("POST", "PUT") and "test" not in path else None
        response = await client.request(
            method, path, json=body, headers=auth_headers(ORG, roles=(role,))
        )
        assert (response.status_code, response.json()["error"]["code"]) == (403, "FORBIDDEN")


async def test_a_member_cannot_read_the_orgs_channels(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    for path in ("/api/v1/notifications/channels", f"/api/v1/notifications/channels/{uuid4()}"):
        response = await client.get(path, headers=auth_headers(ORG, roles=("member",)))
        assert response.status_code == 403


async def test_a_channel_without_its_secrets_or_with_bad_fields_is_a_422(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    url = "/api/v1/notifications/channels"
    cases = [
        ({"kind": "slack", "name": "s"}, "SECRETS_REQUIRED"),
        ({**SLACK, "secrets": {"webhook_url": "ftp://x.example/hook"}}, "INVALID_URL"),
        ({**SLACK, "kind": "sms"}, "VALIDATION_ERROR"),
        ({**SLACK, "rules": [{"event_types": ["budget.nonsense"]}]}, "VALIDATION_ERROR"),
        ([], "VALIDATION_ERROR"),
    ]
    for body, code in cases:
        response = await client.post(url, json=body, headers=auth_headers(ORG))
        assert (response.status_code, response.json()["error"]["code"]) == (422, code), body
        assert "ftp://x.example" not in response.text  # a refused URL is not echoed back


async def test_an_oversized_body_is_a_413(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    body = {**SLACK, "name": "x" * 300_000}
    response = await client.post(
        "/api/v1/notifications/channels", json=body, headers=auth_headers(ORG)
    )
    assert (response.status_code, response.json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


async def test_production_sends_security_headers_and_refuses_plain_http(
    jwt_secret: str, auth_headers: Callable[..., dict[str, str]]
) -> None:
    app = _app(Settings(jwt_secret=jwt_secret, security_headers=True, require_https=True))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
        path = "/api/v1/notifications/preview?event=budget.period.closed"
        plain = await client.get(path, headers=auth_headers(ORG))
        proxied = await client.get(
            path, headers={**auth_headers(ORG), "X-Forwarded-Proto": "https"}
        )
        health = await client.get("/health")
    assert (plain.status_code, plain.json()["error"]["code"]) == (403, "HTTPS_REQUIRED")
    assert proxied.status_code == 200
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")
    assert proxied.headers["X-Content-Type-Options"] == "nosniff"
    assert health.status_code == 200


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


async def test_text_postgresql_cannot_store_is_a_422_not_a_500(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    bodies = [
        b'{"kind": "slack", "name": "s", "rules": [{"project_ids": ["a\\u0000b"]}],'
        b' "secrets": {"webhook_url": "https://hooks.example/x/y"}}',
        b'{"kind": "slack", "name": "s", "secrets": {"webhook_url": "https://h.example/\\ud800"}}',
    ]
    headers = {**auth_headers(ORG), "content-type": "application/json"}
    for body in bodies:
        response = await client.post("/api/v1/notifications/channels", content=body,
                                     headers=headers)  # fmt: skip
        assert (response.status_code, response.json()["error"]["code"]) == (
            422, "VALIDATION_ERROR"
        ), body  # fmt: skip
    listed = await client.get(
        "/api/v1/notifications/deliveries", params={"event_id": "a\x00b"}, headers=headers
    )
    assert listed.status_code == 422
