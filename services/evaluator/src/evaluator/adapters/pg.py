"""Connection typing for the repositories and transactions under row-level security."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from rex_shared.db import bypass_rls, scope_to_org

# `pool.acquire()` hands out a proxy: a Connection at runtime, a different type in the stubs.
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy


def as_connection(conn: Conn) -> asyncpg.Connection:
    """`conn` for rex_shared helpers typed on asyncpg.Connection."""
    return cast(asyncpg.Connection, conn)


@asynccontextmanager
async def transaction(pool: asyncpg.Pool, org_id: str | None) -> AsyncIterator[Conn]:
    """A transaction that sees `org_id`'s rows only, or every org's (None: the trusted run
    loop). Tenant tables FORCE row-level security, so a query outside this sees nothing."""
    async with pool.acquire() as conn, conn.transaction():
        if org_id is None:
            await bypass_rls(as_connection(conn))
        else:
            await scope_to_org(as_connection(conn), org_id)
        yield conn
