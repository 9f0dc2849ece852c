"""HTTP hardening shared by every service: body limits, security headers, HTTPS, rate limits."""

import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
_RAW_HEADERS = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in _HEADERS.items()]
_OPEN = ("/health", "/ready", "/metrics")
_WITH_BODY = ("POST", "PUT", "PATCH")


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (ASGI names are lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class HttpPolicyMiddleware:
    """The policy as plain ASGI (no BaseHTTPMiddleware task and body cache per request):
    refuse plain HTTP behind a proxy (403) and oversized bodies (413), add security headers.

    A body without Content-Length (chunked) is read as it arrives and refused as soon as it
    passes the limit; one within it is handed on to the app unchanged.
    """

    def __init__(self, app: ASGIApp, policy: HttpPolicy) -> None:
        self.app, self.policy = app, policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy, limit = self.policy, self.policy.max_body_bytes
        if policy.require_https and scope["path"] not in _OPEN:
            proto = _header(scope, b"x-forwarded-proto") or scope.get("scheme", "http")
            if proto.split(",")[0].strip() != "https":
                await _deny(403, "HTTPS_REQUIRED", "use HTTPS")(scope, receive, send)
                return
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _deny(413, "PAYLOAD_TOO_LARGE", f"body over {limit} bytes")(scope, receive, send)
            return
        if length is None and scope["method"] in _WITH_BODY:
            buffered = await _read_body(receive, limit)
            if buffered is None:  # the client went away mid-body: nobody to answer
                return
            if len(buffered) > limit:
                await _deny(413, "PAYLOAD_TOO_LARGE", f"body over {limit} bytes")(
                    scope, receive, send
                )
                return
            receive = _replay(buffered, receive)
        await self.app(
            scope, receive, _with_security_headers(send) if policy.security_headers else send
        )


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, stopping once past `limit` (None: the client disconnected)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit or not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the app the body read already, then what the server sends."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _with_security_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            present = {name.lower() for name, _ in headers}
            headers += [(k, v) for k, v in _RAW_HEADERS if k not in present]
            message = {**message, "headers": headers}
        await send(message)

    return sending


def install_http_policy(app: FastAPI, policy: HttpPolicy) -> None:
    """Refuse oversized bodies (413) and plain HTTP behind a proxy; add security headers."""
    app.add_middleware(HttpPolicyMiddleware, policy=policy)


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
        # A counter, not a record: its statement commits without waiting for the WAL flush
        # (synchronous_commit off for this transaction only). A crash of PostgreSQL may forget
        # the last few hundred milliseconds of hits, harmless for a limit; waiting for the
        # flush instead held the org's hot counter row locked through every fsync, so all
        # requests of an org queued behind each other's disk writes.
        rows = await pool.fetch(
            "INSERT INTO rate_limit_windows (key, window_start, hits)"
            " SELECT k, $2, 1 FROM unnest($1::text[]) AS k,"
            " (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
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
