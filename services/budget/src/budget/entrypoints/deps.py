"""Request dependencies: the verified caller and the database pool from the app's runtime."""

from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from rex_shared.api import APIError
from rex_shared.auth import Principal, require_role


async def _caller(request: Request) -> Principal:
    verify: Any = request.app.state.principal
    principal: Principal = await verify(request)
    return principal


async def _admin(caller: Annotated[Principal, Depends(_caller)]) -> Principal:
    # A dependency, not a check in the route: a forbidden caller hears 403 before any
    # complaint about the body it sent.
    require_role(caller, "admin")
    return caller


async def _acknowledger(caller: Annotated[Principal, Depends(_caller)]) -> Principal:
    require_role(caller, "admin", "member")
    return caller


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool | None = request.app.state.runtime.pool
    if pool is None:
        raise APIError(503, "NOT_READY", "the database pool is not open")
    return pool


Caller = Annotated[Principal, Depends(_caller)]
Admin = Annotated[Principal, Depends(_admin)]
Acknowledger = Annotated[Principal, Depends(_acknowledger)]
Pool = Annotated[asyncpg.Pool, Depends(_pool)]
