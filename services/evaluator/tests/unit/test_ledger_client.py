"""The ledger client asks once for a quote however many submissions need it at once, and a
connection the ledger just closed is retried once."""

import asyncio
import secrets
from decimal import Decimal

import httpx
import pytest
from evaluator.adapters.ledger_client import LedgerClient
from evaluator.adapters.peer_http import HttpxPeer, ServiceTokens
from evaluator.ports import ServiceUnavailable
from rex_shared.auth import JwtVerifier
from rex_shared.events import Usage


def _client(handler: object) -> LedgerClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return LedgerClient(
        "http://ledger", ServiceTokens(JwtVerifier(secrets.token_urlsafe(48))), HttpxPeer(http)
    )


async def test_concurrent_identical_quotes_cost_one_request() -> None:
    asked: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        await asyncio.sleep(0.01)
        return httpx.Response(200, json={"data": {"total_cost": "0.00125", "price_id": "p1"}})

    ledger = _client(handler)
    usage = Usage(input_tokens=1000, output_tokens=50)
    quotes = await asyncio.gather(*(
        ledger.estimate(org_id="o", user_id="u", provider="openai", model="m", usage=usage)
        for _ in range(10)
    ))  # fmt: skip
    assert {q.total for q in quotes} == {Decimal("0.00125")} and len(asked) == 1
    assert asked[0].headers["x-rex-on-behalf-of"] == "u"


async def test_a_dropped_connection_is_retried_once_then_reported() -> None:
    calls = 0

    async def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadError("closed", request=request)
        return httpx.Response(200, json={"data": {"total_cost": "1", "price_id": None}})

    usage = Usage(input_tokens=1)
    quote = await _client(flaky).estimate(org_id="o", user_id="u", provider="p", model="m",
                                          usage=usage)  # fmt: skip
    assert quote.total == 1 and calls == 2

    async def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ServiceUnavailable, match="ledger"):
        await _client(down).estimate(org_id="o", user_id="u", provider="p", model="m", usage=usage)
