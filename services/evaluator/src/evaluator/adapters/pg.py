"""Connection typing for the repositories."""

from typing import TypeAlias, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# `pool.acquire()` hands out a proxy: a Connection at runtime, a different type in the stubs.
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy


def as_connection(conn: Conn) -> asyncpg.Connection:
    """`conn` for rex_shared helpers typed on asyncpg.Connection."""
    return cast(asyncpg.Connection, conn)
