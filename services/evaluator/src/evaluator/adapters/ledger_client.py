"""The cost ledger's API as the evaluator uses it: estimates (cached) and actual costs."""

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from rex_shared.events import Usage

from evaluator.adapters.peer_http import (
    PeerHttp,
    PeerUnreachable,
    ServiceTokens,
    post_for_data,
    send,
)
from evaluator.domain.model import Quote
from evaluator.ports import ServiceUnavailable


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
        url = f"{self.base_url}/api/v1/costs/estimate"
        headers = self.tokens.headers(org_id, user_id)
        data = await post_for_data(self.http, "ledger", url, json=body, headers=headers)
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
            reply = await send(self.http, "GET", url, headers=self.tokens.headers(org_id, user_id))
        except PeerUnreachable as exc:
            raise ServiceUnavailable("ledger", str(exc)) from exc
        if reply.status_code >= 500:
            raise ServiceUnavailable("ledger", f"HTTP {reply.status_code}")
        return reply.status_code, reply.json() if reply.status_code < 400 else {}
