"""Route dependencies: the service's `Deps`, the verified caller and role checks, and the
paging parameters of every list."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, cast

import asyncpg
from fastapi import Depends, Query, Request
from rex_shared.api import APIError
from rex_shared.auth import Principal, require_role, sees_only_own

if TYPE_CHECKING:  # bootstrap imports the routes that import this module
    from budget.bootstrap import Deps

KNOWN_ROLES = ("admin", "viewer", "member", "service")
# `?limit=&cursor=` of every list (cursors: rex_shared.cursors).
Limit = Annotated[int, Query(ge=1, le=200)]
CursorParam = Annotated[str | None, Query(max_length=200)]


def deps_of(request: Request) -> "Deps":
    """What bootstrap built for this app (`app.state.deps`), for code that has the request."""
    return cast("Deps", request.app.state.deps)


async def get_deps(request: Request) -> "Deps":
    # async on purpose: FastAPI runs a plain `def` dependency in its threadpool, a thread hop
    # on every request that uses it.
    return deps_of(request)


DepsDep = Annotated["Deps", Depends(get_deps)]


async def _caller(request: Request) -> Principal:
    principal = await deps_of(request).verify(request)
    # A token without any role REX knows reads nothing: least privilege, not "member".
    require_role(principal, *KNOWN_ROLES)
    return principal


def _needs(*roles: str) -> Any:
    # A dependency, not a check in the route: a forbidden caller hears 403 before any
    # complaint about the body it sent.
    async def check(caller: Annotated[Principal, Depends(_caller)]) -> Principal:
        require_role(caller, *roles)
        return caller

    return check


def own(caller: Principal) -> str | None:
    """The user a member is limited to (their own budgets, alerts, holds); None for others."""
    return caller.sub if sees_only_own(caller) else None


def require_self(caller: Principal, user_id: str) -> None:
    """A member acts only for themselves; 403 FORBIDDEN otherwise."""
    if sees_only_own(caller) and user_id != caller.sub:
        raise APIError(403, "FORBIDDEN", "a member may act only for their own user_id")


@dataclass(frozen=True)
class Preflight:
    """What a pre-flight route needs, resolved as one dependency (these are the evaluator's
    per-evaluation calls: each dependency FastAPI resolves costs CPU on every request)."""

    caller: Principal
    pool: asyncpg.Pool
    deps: "Deps"


def _preflight(*roles: str) -> Any:
    async def resolve(request: Request) -> Preflight:
        caller = await _caller(request)
        require_role(caller, *roles)  # 403 before any complaint about the body
        deps = deps_of(request)
        return Preflight(caller, deps.db(), deps)

    return resolve


Caller = Annotated[Principal, Depends(_caller)]
Admin = Annotated[Principal, Depends(_needs("admin"))]
Acknowledger = Annotated[Principal, Depends(_needs("admin", "member"))]
# The evaluator calls these with a service token minted for the evaluation's org.
Checker = Annotated[Principal, Depends(_needs("admin", "viewer", "member", "service"))]
Reserver = Annotated[Principal, Depends(_needs("admin", "member", "service"))]
CheckContext = Annotated[Preflight, Depends(_preflight("admin", "viewer", "member", "service"))]
ReserveContext = Annotated[Preflight, Depends(_preflight("admin", "member", "service"))]
