"""HTTP clients for the cost ledger (estimates, actual costs) and the budget service
(reservations), called with a service token minted for the evaluation's organization."""

import asyncio
import json as jsonlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote
from uuid import UUID

import aiohttp
import httpx
from prometheus_client import Histogram
from rex_shared.auth import JwtVerifier
from rex_shared.events import Usage


class ServiceUnavailable(Exception):
    """The ledger or the budget service did not answer usably."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} unavailable: {reason}")
        self.service, self.reason = service, reason


class Refused(Exception):
    """The service answered with an error envelope the caller must pass on (4xx)."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", "refused"))
        self.status, self.error = status, error


@dataclass(frozen=True)
class PeerReply:
    """A peer service's reply, read whole."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class PeerUnreachable(Exception):
    """The request did not get a reply (refused, timed out, connection lost)."""


class PeerDropped(PeerUnreachable):
    """A kept-alive connection was closed under the request: asking again once is safe."""


class PeerHttp(Protocol):
    """How the evaluator calls the ledger and the budget service."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> PeerReply: ...

    async def aclose(self) -> None: ...


class AiohttpPeer:
    """The production client: one aiohttp session, pooled and kept alive.

    Chosen over httpx by measurement: under bench/evaluator_load.py the reservation call took
    106 ms on average through httpx while the budget service answered it in 14 ms (and an
    outside client saw 5 ms p50); through aiohttp it took 21 ms, with less CPU. Idle
    connections are dropped after 4 s, well before the peers' servers drop them
    (rex_shared.runtime.KEEP_ALIVE_S). (Those figures were taken while the benchmark's users
    still submitted in lockstep, 100 at once; at the steady rate the call takes ~4 ms.)"""

    def __init__(self, *, timeout_s: float, limit: int = 200, keepalive_s: float = 4.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._limit, self._keepalive = limit, keepalive_s
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:  # made inside the running loop
            connector = aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=self._keepalive)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> PeerReply:
        try:
            async with self._open().request(method, url, json=json, headers=headers) as reply:
                return PeerReply(reply.status, await reply.read())
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise PeerDropped(f"{type(exc).__name__}: {exc}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PeerUnreachable(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class HttpxPeer:
    """Any httpx.AsyncClient as a peer client (tests use it with httpx.MockTransport)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> PeerReply:
        try:
            reply = await self._client.request(method, url, json=json, headers=headers)
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError) as exc:
            raise PeerDropped(f"{type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise PeerUnreachable(f"{type(exc).__name__}: {exc}") from exc
        return PeerReply(reply.status_code, reply.content)

    async def aclose(self) -> None:
        await self._client.aclose()


class ServiceTokens:
    """Tokens `sub=evaluator, roles=[service]` per organization, reused until near expiry."""

    def __init__(self, verifier: JwtVerifier, ttl_s: int = 3600) -> None:
        self._verifier, self._ttl = verifier, ttl_s
        self._tokens: dict[str, tuple[float, str]] = {}

    def headers(self, org_id: str, user_id: str) -> dict[str, str]:
        hit = self._tokens.get(org_id)
        if hit is None or hit[0] < time.monotonic():
            token = self._verifier.mint(
                sub="evaluator", org_id=org_id, roles=["service"], ttl_s=self._ttl
            )
            hit = (time.monotonic() + self._ttl / 2, token)
            self._tokens[org_id] = hit
        # Header values must be ASCII; a user id is whatever the identity provider issued.
        on_behalf = quote(user_id, safe="@._-:")
        return {"Authorization": f"Bearer {hit[1]}", "X-Rex-On-Behalf-Of": on_behalf}


PEER_LATENCY = Histogram(
    "rex_evaluator_peer_call_seconds",
    "Calls from the evaluator to the ledger and the budget service",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


async def _request(http: PeerHttp, method: str, url: str, **kwargs: Any) -> PeerReply:
    # A kept-alive connection the peer just closed fails at once: ask again, once. Safe for
    # every call made here: estimates have no effect, reservations and settlements are
    # idempotent per evaluation and reservation.
    try:
        return await http.request(method, url, **kwargs)
    except PeerDropped:
        return await http.request(method, url, **kwargs)


async def _call(
    http: PeerHttp, service: str, method: str, url: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    started = time.perf_counter()
    try:
        reply = await _request(http, method, url, **kwargs)
    except PeerUnreachable as exc:
        raise ServiceUnavailable(service, str(exc)) from exc
    finally:
        PEER_LATENCY.labels(service, method).observe(time.perf_counter() - started)
    if reply.status_code >= 500 or reply.status_code in (401, 403, 404, 405):
        # Our own token refused, or the endpoint missing: nothing the user can fix.
        raise ServiceUnavailable(service, f"HTTP {reply.status_code} from {url}")
    try:
        body = reply.json()
    except ValueError as exc:
        raise ServiceUnavailable(service, f"HTTP {reply.status_code}, not JSON") from exc
    return reply.status_code, body


@dataclass(frozen=True)
class Quote:
    total: Decimal
    price_id: str | None


@dataclass
class LedgerClient:
    """`POST /api/v1/costs/estimate` (cached: the same call shape is priced once a minute)
    and `GET /api/v1/costs/evaluations/{id}`."""

    base_url: str
    tokens: ServiceTokens
    http: PeerHttp
    ttl_s: float = 60.0
    _cache: "OrderedDict[tuple[str, str, str, str], tuple[float, Quote]]" = field(
        default_factory=OrderedDict
    )
    _asking: "dict[tuple[str, str, str, str], asyncio.Future[Quote]]" = field(default_factory=dict)

    async def estimate(
        self, *, org_id: str, user_id: str, provider: str, model: str, usage: Usage
    ) -> Quote:
        key = (org_id, provider, model, usage.model_dump_json())
        hit = self._cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        if key in self._asking:  # the same quote is on its way: share it
            return await asyncio.shield(self._asking[key])
        asking = asyncio.get_running_loop().create_future()
        self._asking[key] = asking
        try:
            quote = await self._quote(key, org_id, user_id, provider, model, usage)
            asking.set_result(quote)
            return quote
        except BaseException as exc:
            asking.set_exception(exc)
            asking.exception()  # retrieved: no warning when nobody else waited
            raise
        finally:
            del self._asking[key]

    async def _quote(
        self,
        key: tuple[str, str, str, str],
        org_id: str,
        user_id: str,
        provider: str,
        model: str,
        usage: Usage,
    ) -> Quote:
        body = {"provider": provider, "model": model, "usage": usage.model_dump()}
        status, reply = await _call(
            self.http,
            "ledger",
            "POST",
            f"{self.base_url}/api/v1/costs/estimate",
            json=body,
            headers=self.tokens.headers(org_id, user_id),
        )
        if status >= 400:
            raise Refused(status, reply.get("error") or {})
        data = reply["data"]
        quote = Quote(Decimal(str(data["total_cost"])), data.get("price_id"))
        self._cache[key] = (time.monotonic() + self.ttl_s, quote)
        while len(self._cache) > 10_000:
            self._cache.popitem(last=False)
        return quote

    async def evaluation_costs(
        self, *, org_id: str, user_id: str, evaluation_id: UUID
    ) -> dict[str, Any] | None:
        """The ledger's account of an evaluation (None: nothing recorded yet)."""
        status, reply = await self._costs(org_id, user_id, evaluation_id)
        if status >= 400:
            return None
        data: dict[str, Any] = reply["data"]
        return data

    async def _costs(
        self, org_id: str, user_id: str, evaluation_id: UUID
    ) -> tuple[int, dict[str, Any]]:
        url = f"{self.base_url}/api/v1/costs/evaluations/{evaluation_id}"
        try:
            reply = await _request(
                self.http, "GET", url, headers=self.tokens.headers(org_id, user_id)
            )
        except PeerUnreachable as exc:
            raise ServiceUnavailable("ledger", str(exc)) from exc
        if reply.status_code >= 500:
            raise ServiceUnavailable("ledger", f"HTTP {reply.status_code}")
        return reply.status_code, reply.json() if reply.status_code < 400 else {}


@dataclass(frozen=True)
class Reservation:
    id: str
    held_amount: Decimal
    warnings: list[dict[str, Any]]


@dataclass
class BudgetClient:
    """`POST /api/v1/budgets/reservations` and `.../{id}/settle`."""

    base_url: str
    tokens: ServiceTokens
    http: PeerHttp

    async def reserve(
        self,
        *,
        org_id: str,
        user_id: str,
        project_id: str,
        estimated_cost: Decimal,
        evaluation_id: UUID,
    ) -> Reservation:
        body = {
            "project_id": project_id,
            "user_id": user_id,
            "estimated_cost": format(estimated_cost, "f"),
            "evaluation_id": str(evaluation_id),
        }
        status, reply = await _call(
            self.http,
            "budget",
            "POST",
            f"{self.base_url}/api/v1/budgets/reservations",
            json=body,
            headers=self.tokens.headers(org_id, user_id),
        )
        if status >= 400:
            raise Refused(status, reply.get("error") or {})
        data = reply["data"]
        return Reservation(
            str(data["id"]),
            Decimal(str(data.get("held_amount", "0"))),
            list(data.get("warnings") or []),
        )

    async def settle(self, *, org_id: str, user_id: str, reservation_id: str) -> None:
        status, reply = await _call(
            self.http,
            "budget",
            "POST",
            f"{self.base_url}/api/v1/budgets/reservations/{reservation_id}/settle",
            headers=self.tokens.headers(org_id, user_id),
        )
        if status >= 400 and status != 409:  # 409: settled or expired already
            raise ServiceUnavailable("budget", f"settle refused: HTTP {status} {reply}")
