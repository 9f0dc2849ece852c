"""A service's three database roles, and the startup check of its request role.

The OWNER (`rex_<schema>`) runs migrations and owns the tables; the REQUEST role
(`<owner>_api`) owns nothing and serves HTTP under forced row-level security; the WORKER role
(`<owner>_worker`) does the cross-organization work it was granted in the migrations.
"""

import logging

import asyncpg
from asyncpg.pool import PoolConnectionProxy

log = logging.getLogger(__name__)


class UnsafeRequestRole(RuntimeError):
    """The request role could read every organization's rows: the service must not start."""


def request_role(owner: str) -> str:
    """The login role a service handles HTTP requests with."""
    return f"{owner}_api"


def worker_role(owner: str) -> str:
    """The login role of a service's consumers, sweepers, relays and run workers."""
    return f"{owner}_worker"


async def unsafe_reason(
    conn: asyncpg.Connection | PoolConnectionProxy, *, schema: str
) -> str | None:
    """Why the connected role must not handle requests (row-level security would not hold)."""
    row = await conn.fetchrow(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    if row is None:
        return "is not in pg_roles"
    if row["rolsuper"]:
        return "is a superuser (row-level security does not apply to it)"
    if row["rolbypassrls"]:
        return "has BYPASSRLS (row-level security does not apply to it)"
    owned = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tableowner = current_user"
        " ORDER BY tablename",
        schema,
    )
    if owned:
        names = ", ".join(r["tablename"] for r in owned)
        return f"owns tables of schema {schema} ({names}); an owner can switch policies off"
    return None


async def check_request_role(pool: asyncpg.Pool, *, schema: str) -> None:
    """At startup, once: refuse to serve when the request role is not held by row-level security."""
    async with pool.acquire() as conn:
        role = await conn.fetchval("SELECT current_user")
        reason = await unsafe_reason(conn, schema=schema)
    if reason is not None:
        message = f"refusing to start: request role {role} {reason}"
        log.critical(message)
        raise UnsafeRequestRole(message)
