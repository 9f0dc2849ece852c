"""HTTP hardening shared by every service: body limits, security headers, HTTPS, rate limits."""

import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from rex_shared.api import APIError
from rex_shared.auth import Principal

RATE_LIMIT_DDL = """
CREATE TABLE IF NOT EXISTS rate_limit_windows (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
"""


class HttpPolicy(BaseModel):
    """What the HTTP layer enforces; production turns the transport rules on."""

    max_body_bytes: int = 1_048_576
    security_headers: bool = False
    require_https: bool = False


def _deny(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"success": False, "error": {"code": code, "message": message, "details": {}}}
    return JSONResponse(body, status_code=status, headers=headers)


_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}
_OPEN = ("/health", "/ready", "/metrics")


def install_http_policy(app: FastAPI, policy: HttpPolicy) -> None:
    """Refuse oversized bodies (413) and plain HTTP behind a proxy; add security headers."""

    @app.middleware("http")
    async def _policy(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if policy.require_https and request.url.path not in _OPEN:
            proto = request.headers.get("x-forwarded-proto", request.url.scheme)
            if proto.split(",")[0].strip() != "https":
                return _deny(403, "HTTPS_REQUIRED", "use HTTPS")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > policy.max_body_bytes):
            return _deny(413, "PAYLOAD_TOO_LARGE", f"body over {policy.max_body_bytes} bytes")
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            body = await request.body()  # chunked: count what actually arrives
            if len(body) > policy.max_body_bytes:
                return _deny(413, "PAYLOAD_TOO_LARGE", f"body over {policy.max_body_bytes} bytes")
        response = await call_next(request)
        if policy.security_headers:
            for name, value in _HEADERS.items():
                response.headers.setdefault(name, value)
        return response


class RateLimiter:
    """Fixed-window request limits per principal and per org, counted in PostgreSQL so every
    instance of a service shares them."""

    def __init__(
        self,
        pool_ref: Callable[[], asyncpg.Pool | None],
        *,
        per_principal: int = 600,
        per_org: int = 3000,
        window_s: int = 60,
    ) -> None:
        self._pool_ref, self._window = pool_ref, window_s
        self._limits = {"principal": per_principal, "org": per_org}

    async def check(self, principal: Principal, scope: str = "api") -> None:
        """Count one request; raise 429 RATE_LIMITED with Retry-After past a limit."""
        pool = self._pool_ref()
        if pool is None or min(self._limits.values()) <= 0:
            return
        now = time.time()
        window = int(now // self._window)
        keys = [
            (f"{scope}:principal:{principal.org_id}:{principal.sub}", self._limits["principal"]),
            (f"{scope}:org:{principal.org_id}", self._limits["org"]),
        ]
        rows = await pool.fetch(
            "INSERT INTO rate_limit_windows (key, window_start, hits)"
            " SELECT k, $2, 1 FROM unnest($1::text[]) AS k"
            " ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limit_windows.hits + 1"
            " RETURNING key, hits",
            [k for k, _ in keys],
            window,
        )
        hits = {r["key"]: r["hits"] for r in rows}
        if any(hits.get(k, 0) > limit for k, limit in keys):
            retry = max(1, math.ceil((window + 1) * self._window - now))
            raise APIError(
                429, "RATE_LIMITED", "too many requests", {"retry_after_s": retry}
            ).with_headers({"Retry-After": str(retry)})
        if window % 50 == 0 and now % self._window < 1:  # now and then, forget old windows
            await pool.execute("DELETE FROM rate_limit_windows WHERE window_start < $1", window - 2)

    def dependency(
        self, principal_dep: Callable[..., Coroutine[Any, Any, Principal]]
    ) -> Callable[[Request], Coroutine[Any, Any, None]]:
        """A route dependency: authenticate, then count the request."""

        async def limited(request: Request) -> None:
            principal = await principal_dep(request)
            await self.check(principal)

        return limited
