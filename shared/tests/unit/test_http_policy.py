"""The shared HTTP policy: body limits, HTTPS behind a proxy, security headers, JWKS tokens."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI, Response
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm
from prometheus_client import REGISTRY
from rex_shared.api import APIError, install_error_handlers
from rex_shared.auth import JwtVerifier, Principal, principal_dependency
from rex_shared.http_metrics import install_metrics_middleware
from rex_shared.security import HttpPolicy, install_http_policy


def _app(policy: HttpPolicy) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    install_http_policy(app, policy)

    @app.post("/api/v1/echo")
    async def echo(body: dict[str, Any]) -> dict[str, Any]:
        return body

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"ok": "yes"}

    return TestClient(app)


def test_an_oversized_body_is_refused_with_413() -> None:
    client = _app(HttpPolicy(max_body_bytes=100))
    r = client.post(
        "/api/v1/echo",
        content=json.dumps({"x": "a" * 200}),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert client.post("/api/v1/echo", json={"x": 1}).status_code == 200


def test_plain_http_behind_a_proxy_is_refused_when_https_is_required() -> None:
    client = _app(HttpPolicy(require_https=True, security_headers=True))
    r = client.post("/api/v1/echo", json={}, headers={"x-forwarded-proto": "http"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "HTTPS_REQUIRED"
    ok = client.post("/api/v1/echo", json={}, headers={"x-forwarded-proto": "https"})
    assert ok.status_code == 200
    assert ok.headers["strict-transport-security"].startswith("max-age=")
    assert ok.headers["x-content-type-options"] == "nosniff"
    assert client.get("/health").status_code == 200  # probes stay plain


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[tuple[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key
    server.shutdown()


def _rs256(key: Any, **claims: Any) -> str:
    import time

    base = {
        "sub": "u",
        "org_id": "o",
        "roles": ["viewer"],
        "iss": "rex",
        "aud": "rex-api",
        "exp": int(time.time()) + 60,
        "nbf": int(time.time()) - 1,
    }
    return jwt.encode({**base, **claims}, key, algorithm="RS256", headers={"kid": "k1"})


def test_rs256_tokens_verify_against_a_real_jwks_endpoint(jwks_server: tuple[str, Any]) -> None:
    url, key = jwks_server
    verifier = JwtVerifier(jwks_url=url)
    assert verifier.verify(_rs256(key)).roles == ("viewer",)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(APIError):
        verifier.verify(_rs256(other))
    with pytest.raises(APIError):  # not yet valid
        import time

        verifier.verify(_rs256(key, nbf=int(time.time()) + 600))


def test_an_hs256_token_is_refused_by_a_jwks_verifier(jwks_server: tuple[str, Any]) -> None:
    url, _ = jwks_server
    forged = JwtVerifier("x" * 40).mint(sub="u", org_id="o", roles=["admin"])
    with pytest.raises(APIError):
        JwtVerifier(jwks_url=url).verify(forged)


def test_a_short_secret_is_refused_at_startup() -> None:
    with pytest.raises(ValueError):
        JwtVerifier("too-short")


def test_the_principal_dependency_needs_a_bearer_token() -> None:
    verifier = JwtVerifier("s" * 40)
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/v1/me")
    async def me(p: Principal = Depends(principal_dependency(verifier))) -> dict[str, str]:
        return {"org": p.org_id}

    client = TestClient(app)
    assert client.get("/api/v1/me").json()["error"]["code"] == "UNAUTHENTICATED"
    token = verifier.mint(sub="u", org_id="o1", roles=["member"])
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json() == {
        "org": "o1"
    }


def _chunked(body: bytes, size: int = 64) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


def test_a_chunked_body_is_counted_as_it_arrives_and_handed_on_intact() -> None:
    client = _app(HttpPolicy(max_body_bytes=200))
    small = json.dumps({"x": "a" * 100}).encode()
    headers = {"content-type": "application/json"}
    r = client.post("/api/v1/echo", content=_chunked(small), headers=headers)
    assert r.status_code == 200 and r.json() == {"x": "a" * 100}  # no Content-Length sent
    big = json.dumps({"x": "a" * 1000}).encode()
    r = client.post("/api/v1/echo", content=_chunked(big), headers=headers)
    assert r.status_code == 413 and r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    bad = client.post("/api/v1/echo", content=b"{}", headers={**headers, "content-length": "x"})
    assert bad.status_code in (400, 413)  # refused either by the server or by the policy


def test_security_headers_do_not_replace_the_apps_own() -> None:
    app = FastAPI()
    install_http_policy(app, HttpPolicy(security_headers=True))

    @app.get("/cached")
    async def cached() -> Response:
        return Response("x", headers={"Cache-Control": "max-age=60"})

    r = TestClient(app).get("/cached")
    assert r.headers["cache-control"] == "max-age=60"
    assert r.headers.get_list("cache-control") == ["max-age=60"]
    assert r.headers["x-frame-options"] == "DENY"
    off = FastAPI()
    install_http_policy(off, HttpPolicy())
    off.get("/h")(cached)
    assert "x-frame-options" not in TestClient(off).get("/h").headers


def _count(route: str, status: str, service: str = "policy-test") -> float:
    value = REGISTRY.get_sample_value(
        "rex_http_request_duration_seconds_count",
        {"service": service, "method": "GET", "route": route, "status": status},
    )
    return value or 0.0


def test_requests_are_timed_by_route_template_and_status() -> None:
    app = FastAPI()
    install_error_handlers(app)
    install_metrics_middleware(app, "policy-test")

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        if item_id == 0:
            raise APIError(404, "NOT_FOUND", "no such item")
        if item_id == 13:
            raise RuntimeError("boom")
        return {"id": item_id}

    client = TestClient(app, raise_server_exceptions=False)
    before = {s: _count("/items/{item_id}", s) for s in ("200", "404", "500")}
    assert client.get("/items/1").status_code == 200
    assert client.get("/items/2").status_code == 200
    assert client.get("/items/0").status_code == 404
    assert client.get("/items/13").status_code == 500
    unmatched = _count("unmatched", "404")
    assert client.get("/nowhere").status_code == 404
    assert _count("/items/{item_id}", "200") == before["200"] + 2
    assert _count("/items/{item_id}", "404") == before["404"] + 1
    assert _count("/items/{item_id}", "500") == before["500"] + 1
    assert _count("unmatched", "404") == unmatched + 1
