"""Connection typing and the two ways into a transaction: scoped to an org, or trusted."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from rex_shared.db import bypass_rls, scope_to_org

# `pool.acquire()` hands out a proxy; at runtime it passes for a Connection, in the stubs not.
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy
# What runs one self-contained statement: a connection, or the pool (which lends one for it).
Db: TypeAlias = asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool


def connection(conn: Conn) -> asyncpg.Connection:
    """`conn` for rex_shared helpers typed on asyncpg.Connection."""
    return cast(asyncpg.Connection, conn)


async def _keep_session(conn: asyncpg.Connection) -> None:
    # asyncpg still rolls back an open transaction on release; the service sets nothing at
    # session level (org scoping is transaction-local), so RESET ALL would be a round trip
    # per request for nothing.
    return None


async def create_pool(dsn: str, *, schema: str, max_size: int) -> asyncpg.Pool:
    """Like rex_shared.db.create_pool (pinned to `schema`), minus the reset on release."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=max_size,
        reset=_keep_session,
        server_settings={"search_path": schema, "application_name": f"rex-{schema}"},
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def scoped(pool: asyncpg.Pool, org_id: str) -> AsyncIterator[Conn]:
    """A transaction in which row-level security shows only `org_id`'s rows (API requests)."""
    async with pool.acquire() as conn, conn.transaction():
        await scope_to_org(connection(conn), org_id)
        yield conn


@asynccontextmanager
async def trusted(pool: asyncpg.Pool) -> AsyncIterator[Conn]:
    """A transaction that sees every org (the consumer and the sweep, which serve them all)."""
    async with pool.acquire() as conn, conn.transaction():
        await bypass_rls(connection(conn))
        yield conn
