"""Connection typing shared by the repositories."""

from typing import TypeAlias, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# `pool.acquire()` hands out a proxy; at runtime it passes for a Connection, in the stubs not.
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy


def connection(conn: Conn) -> asyncpg.Connection:
    """`conn` for rex_shared helpers typed on asyncpg.Connection."""
    return cast(asyncpg.Connection, conn)
