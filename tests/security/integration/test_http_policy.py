"""Transport and request limits of every service (issue 3): HTTPS behind a proxy, security
headers, body size, and rate limits per principal and per org shared by all instances."""

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sec_apps import BUILDERS, SERVICES, Common, running
from sec_openapi import offline_spec, operations
from sec_world import new_org

HEADERS = ("strict-transport-security", "x-content-type-options", "x-frame-options")
LIMIT = 2048


def _app(service: str, **values: Any) -> FastAPI:
    base = {
        "env": "test",
        "database_url": "postgresql://nobody:x@127.0.0.1:1/none",
        "jwt_secret": secrets.token_urlsafe(48),
        "consumer_group": "unused",
        "keks": "k1:" + "A" * 43 + "=",
        "sim_url": "http://127.0.0.1:1",
    }
    _, app = BUILDERS[service]({**base, **values}, {})
    return app


def _targets(service: str) -> tuple[str, str]:
    """A GET list path and a POST path of the service, from its OpenAPI document."""
    ops = operations(service, offline_spec(service))
    get = next(o.template for o in ops if o.method == "GET" and not o.path_params)
    post = next(o.template for o in ops if o.method == "POST" and not o.path_params)
    return get, post


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://svc"
    ) as http:
        yield http


@pytest.mark.parametrize("env", ["hardened", "production"])
@pytest.mark.parametrize("service", SERVICES)
async def test_plain_http_is_refused_and_security_headers_are_sent(service: str, env: str) -> None:
    values = (
        {"security_headers": True, "require_https": True}
        if env == "hardened"
        else {
            "env": "production",
            "ledger_url": "http://127.0.0.1:1",
            "budget_url": "http://127.0.0.1:1",
        }
    )
    app = _app(service, **values)
    get, _ = _targets(service)
    async for http in _client(app):
        plain = await http.get(get)
        assert plain.status_code == 403, plain.text
        assert plain.json()["error"]["code"] == "HTTPS_REQUIRED"
        proxied = await http.get(get, headers={"X-Forwarded-Proto": "https"})
        assert proxied.status_code == 401, proxied.text
        health = await http.get("/health")
        missing = [h for h in HEADERS if h not in proxied.headers or h not in health.headers]
        assert not missing, f"{service} sends no {missing}"


@pytest.mark.parametrize("service", SERVICES)
async def test_an_oversized_body_is_refused_with_413_before_anything_else(service: str) -> None:
    app = _app(service, max_body_bytes=LIMIT)
    _, post = _targets(service)
    big = b'{"x": "' + b"a" * (LIMIT + 10) + b'"}'

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for i in range(0, len(big), 512):
            yield big[i : i + 512]

    async for http in _client(app):
        for content in (big, chunks()):
            reply = await http.post(
                post, content=content, headers={"Content-Type": "application/json"}
            )
            assert reply.status_code == 413, reply.text
            assert reply.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def _at_window_start() -> None:
    # The limits count per fixed minute; start well inside one so it does not roll over.
    late = time.time() % 60
    if late > 55:  # the requests below take well under a second
        await asyncio.sleep(60.5 - late)


@pytest.mark.parametrize("service", SERVICES)
async def test_rate_limits_per_principal_and_per_org_hold_across_instances(
    service: str, system: Any, common: Common, verifier: Any, sim_url: str
) -> None:
    main, get = system[service], _targets(service)[0]
    org, other = new_org(verifier, "rl"), new_org(verifier, "rl")  # nobody else counts on them
    one, two = org.headers("user-1", "admin"), org.headers("user-2", "admin")
    extra = {"sim_url": sim_url} if service == "evaluator" else {}
    async with running(
        common, service, rate_limit_per_principal=3, rate_limit_per_org=5, **extra
    ) as limited:
        await _at_window_start()
        statuses = [(await main.http.get(get, headers=one)).status_code for _ in range(2)]
        # The other instance counts on from the first one's two requests.
        statuses += [(await limited.http.get(get, headers=one)).status_code for _ in range(2)]
        assert statuses == [200, 200, 200, 429], statuses
        refused = await limited.http.get(get, headers=one)
        assert refused.headers.get("retry-after", "").isdigit(), refused.headers
        assert refused.json()["error"]["code"] == "RATE_LIMITED"
        # Org-wide: six requests so far; another user of the same org is over the org limit.
        assert (await limited.http.get(get, headers=two)).status_code == 429
        stranger = other.headers("user-3", "admin")
        assert (await limited.http.get(get, headers=stranger)).status_code == 200
