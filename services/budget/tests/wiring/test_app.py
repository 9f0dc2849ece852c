"""The HTTP app without infrastructure: auth comes first, routes resolve as intended."""

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from budget.bootstrap import create_app
from budget.config import Settings
from rex_shared.auth import JwtVerifier


@pytest.fixture
async def client(jwt_secret: str) -> AsyncIterator[httpx.AsyncClient]:
    # No lifespan: no pool, no broker; whatever needs the database answers 503.
    app = create_app(Settings(jwt_secret=jwt_secret, env="test"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://budget") as c:
        yield c


async def test_every_budget_route_requires_a_bearer_token(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/v1/budgets"),
        ("POST", "/api/v1/budgets"),
        ("GET", "/api/v1/budgets/alerts"),
        ("DELETE", "/api/v1/budgets/6a3f0c1e-5b7e-4b8e-9c43-2f1d1d1d1d1d"),
    ]:
        reply = await client.request(method, path)
        assert reply.status_code == 401, path
        assert reply.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_a_forged_token_is_rejected(client: httpx.AsyncClient) -> None:
    reply = await client.get("/api/v1/budgets", headers={"Authorization": "Bearer abc.def.ghi"})
    assert (reply.status_code, reply.json()["error"]["code"]) == (401, "INVALID_TOKEN")


async def test_a_member_hears_forbidden_before_any_complaint_about_the_body(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    headers = auth_headers("o1", roles=("member",))
    reply = await client.post("/api/v1/budgets", json={"limit_amount": -1}, headers=headers)
    assert (reply.status_code, reply.json()["error"]["code"]) == (403, "FORBIDDEN")


async def test_alerts_are_not_mistaken_for_a_budget_id(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    reply = await client.get("/api/v1/budgets/alerts", headers=auth_headers("o1"))
    assert (reply.status_code, reply.json()["error"]["code"]) == (503, "NOT_READY")


async def test_ops_endpoints_and_openapi_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {
        "/api/v1/budgets",
        "/api/v1/budgets/{budget_id}",
        "/api/v1/budgets/alerts",
        "/api/v1/budgets/alerts/{alert_id}/acknowledge",
        "/api/v1/budgets/{budget_id}/periods",
        "/api/v1/budgets/check",
        "/api/v1/budgets/reservations",
        "/api/v1/budgets/reservations/{reservation_id}",
        "/api/v1/budgets/reservations/{reservation_id}/settle",
    } <= set(paths)


async def test_check_and_reservations_are_not_mistaken_for_a_budget_id(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    body = {"project_id": "p", "user_id": "u", "estimated_cost": "1"}
    reply = await client.post("/api/v1/budgets/check", json=body, headers=auth_headers("o1"))
    assert (reply.status_code, reply.json()["error"]["code"]) == (503, "NOT_READY")


@pytest.fixture
async def production(jwt_secret: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        jwt_secret=jwt_secret, env="production", database_url="postgresql://u:p@db:5432/rex"
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://budget") as c:
        yield c


async def test_production_refuses_plain_http_and_sends_security_headers(
    production: httpx.AsyncClient,
) -> None:
    plain = await production.get("/api/v1/budgets")
    assert (plain.status_code, plain.json()["error"]["code"]) == (403, "HTTPS_REQUIRED")
    assert (await production.get("/health")).status_code == 200
    proxied = await production.get("/api/v1/budgets", headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 401
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")
    assert proxied.headers["X-Content-Type-Options"] == "nosniff"


def test_transport_rules_follow_the_environment_unless_set() -> None:
    local = Settings(jwt_secret="x" * 32, env="local").http_policy()
    assert (local.require_https, local.security_headers) == (False, False)
    forced = Settings(jwt_secret="x" * 32, env="local", require_https=True).http_policy()
    assert forced.require_https is True


async def test_a_cached_token_still_needs_the_bearer_scheme_and_expires(
    client: httpx.AsyncClient, verifier: JwtVerifier
) -> None:
    token = verifier.mint(sub="a", org_id="o1", roles=["admin"], ttl_s=3600)
    ok = await client.get("/api/v1/budgets", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 503  # authenticated; no database behind this app
    basic = await client.get("/api/v1/budgets", headers={"Authorization": f"Basic {token}"})
    assert basic.status_code == 401
    expired = verifier.mint(sub="a", org_id="o1", roles=["admin"], ttl_s=-120)
    reply = await client.get("/api/v1/budgets", headers={"Authorization": f"Bearer {expired}"})
    assert (reply.status_code, reply.json()["error"]["code"]) == (401, "INVALID_TOKEN")
