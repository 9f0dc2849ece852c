"""The routes over fake adapters (bootstrap's keyword arguments): refusals keep their status,
code and message; nothing connects (no lifespan, no pool, so no rate limit counting)."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from cost_ledger.bootstrap import create_app
from cost_ledger.config import Settings
from cost_ledger.domain.catalog import seed_rows
from cost_ledger.domain.pricebook import CatalogRow
from cost_ledger.ports import Contended, LedgerTx
from fastapi import FastAPI

NOW = datetime(2025, 7, 1, 12, tzinfo=UTC)


class FakeCatalog:
    """The seeded catalog in memory; `add` refuses an id it holds."""

    def __init__(self) -> None:
        self.added: list[CatalogRow] = []

    async def rows(self) -> list[CatalogRow]:
        return [*seed_rows(), *self.added]

    async def add(self, row: CatalogRow, *, org_id: str, created_by: str, note: str | None) -> bool:
        if any(r.id == row.id for r in self.added):
            return False
        self.added.append(row)
        return True


class BusyStore:
    """Every org transaction meets the consumer on the same rows."""

    def __init__(self) -> None:
        self.tries = 0

    @asynccontextmanager
    async def transaction(self, org_id: str | None = None) -> AsyncIterator[LedgerTx]:
        self.tries += 1
        raise Contended("deadlock detected")
        yield  # pragma: no cover


class NoReports:
    async def evaluation_costs(self, **_: Any) -> None:
        return None


async def _app(jwt_secret: str, **fakes: Any) -> FastAPI:
    settings = Settings(database_url="postgresql://x@y/z", jwt_secret=jwt_secret)  # type: ignore[arg-type]
    app = create_app(settings, now=lambda: NOW, **fakes)
    await app.state.deps.prices.reload()  # what the lifespan does first
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ledger")


async def test_an_admin_price_is_added_once_then_conflicts(
    jwt_secret: str, auth_headers: Callable[..., dict[str, str]]
) -> None:
    catalog = FakeCatalog()
    app = await _app(jwt_secret, catalog=catalog)
    body = {"provider": "openai", "model": "gpt-4o", "effective_from": "2025-06-01T00:00:00Z",
            "rates": {"input": "2.5", "output": "10"}}  # fmt: skip
    async with _client(app) as client:
        first = await client.post("/api/v1/costs/pricing", json=body, headers=auth_headers("o1"))
        again = await client.post("/api/v1/costs/pricing", json=body, headers=auth_headers("o1"))
    assert first.status_code == 201, first.text
    assert [r.org_id for r in catalog.added] == ["o1"]
    assert app.state.deps.prices.book().size == len(seed_rows()) + 1  # reloaded after adding
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "PRICE_EXISTS"


async def test_a_public_price_needs_a_catalog_administrator(
    jwt_secret: str, auth_headers: Callable[..., dict[str, str]]
) -> None:
    app = await _app(jwt_secret, catalog=FakeCatalog())
    body = {"provider": "openai", "model": "gpt-4o", "effective_from": "2025-06-01T00:00:00Z",
            "scope": "public", "rates": {"input": "2.5"}}  # fmt: skip
    async with _client(app) as client:
        reply = await client.post("/api/v1/costs/pricing", json=body, headers=auth_headers("o1"))
    assert reply.status_code == 403
    error = {"code": "FORBIDDEN", "message": "only catalog administrators add public prices",
             "details": {}}  # fmt: skip
    assert reply.json()["error"] == error


async def test_repricing_gives_up_busy_after_three_contended_tries(
    jwt_secret: str, auth_headers: Callable[..., dict[str, str]]
) -> None:
    store = BusyStore()
    app = await _app(jwt_secret, catalog=FakeCatalog(), store=store)
    async with _client(app) as client:
        reply = await client.post("/api/v1/costs/reprice", json={"dry_run": False},
                                  headers=auth_headers("o1"))  # fmt: skip
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "BUSY"
    assert store.tries == 3


async def test_unknown_evaluation_costs_are_not_found(
    jwt_secret: str, auth_headers: Callable[..., dict[str, str]]
) -> None:
    app = await _app(jwt_secret, catalog=FakeCatalog(), reports=NoReports())
    async with _client(app) as client:
        reply = await client.get("/api/v1/costs/evaluations/6f1c7a4e-6d0b-4a8e-9a57-2f1f4b1b9d10",
                                 headers=auth_headers("o1"))  # fmt: skip
    assert reply.status_code == 404
    assert reply.json()["error"]["message"] == "evaluation costs not found"


async def test_a_member_asking_for_another_users_costs_is_refused(
    jwt_secret: str, auth_headers: Callable[..., dict[str, str]]
) -> None:
    app = await _app(jwt_secret, catalog=FakeCatalog())
    async with _client(app) as client:
        reply = await client.get("/api/v1/costs/summary?user_id=someone-else",
                                 headers=auth_headers("o1", "me", ("member",)))  # fmt: skip
    assert reply.status_code == 403
    assert reply.json()["error"]["message"] == "members see only their own costs"
