"""Transactions under row-level security: scoped to one org (API) or trusted (worker, consumer)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from rex_shared.db import bypass_rls, scope_to_org

# A string: asyncpg's classes are generic only in its type stubs.
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


@asynccontextmanager
async def org_tx(pool: asyncpg.Pool, org_id: str) -> AsyncIterator[Conn]:
    """A transaction that sees only `org_id`'s rows."""
    async with pool.acquire() as conn, conn.transaction():
        await scope_to_org(cast(asyncpg.Connection, conn), org_id)  # a pool proxy is one
        yield conn


@asynccontextmanager
async def trusted_tx(pool: asyncpg.Pool) -> AsyncIterator[Conn]:
    """A transaction of the consumer or the worker, across organizations."""
    async with pool.acquire() as conn, conn.transaction():
        await bypass_rls(cast(asyncpg.Connection, conn))
        yield conn
