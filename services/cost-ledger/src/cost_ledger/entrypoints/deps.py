"""What the routes depend on, as getters so the lifespan can open them after routing is set."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from cost_ledger.adapters.ledger_repo import PgLedgerStore
from cost_ledger.domain.pricebook import PriceBook


@dataclass(frozen=True)
class Deps:
    """Pool, price book, ledger store, clock, catalog reload and counters."""

    pool: Callable[[], asyncpg.Pool]
    book: Callable[[], PriceBook]
    store: Callable[[], PgLedgerStore]
    now: Callable[[], datetime]
    reload_prices: Callable[[], Awaitable[None]]
    observe: Callable[[list[Any]], None]
    catalog_admin_orgs: frozenset[str] = frozenset()


def utc(at: datetime | None, now: Callable[[], datetime]) -> datetime:
    """`at` as an aware UTC time (naive means UTC); now when absent."""
    if at is None:
        return now()
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at
