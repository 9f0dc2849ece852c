"""Route dependencies: the app's Deps, the verified caller and the rate limit."""

from typing import TYPE_CHECKING, Annotated, cast

from fastapi import Depends, Request
from rex_shared.api import APIError
from rex_shared.auth import Principal, sees_only_own

if TYPE_CHECKING:  # bootstrap imports the routes, so the name is only for the type checker
    from notifier.bootstrap import Deps


async def get_deps(request: Request) -> "Deps":
    """What bootstrap built for the routes (503 while the service is starting)."""
    # async: a plain `def` dependency would run in FastAPI's threadpool, on every request.
    deps = getattr(request.app.state, "deps", None)
    if deps is None:
        raise APIError(503, "NOT_READY", "the service is starting")
    return cast("Deps", deps)


DepsDep = Annotated["Deps", Depends(get_deps)]


async def get_principal(request: Request) -> Principal:
    """The caller, verified by the router's guard (rex_shared.auth keeps it on request.state)."""
    return cast(Principal, request.state.principal)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def rate_limited(principal: PrincipalDep, deps: DepsDep) -> None:
    """Count the request against the caller's and the org's limits (429 past one)."""
    await deps.limiter.check(principal)


def own_user(principal: Principal) -> str | None:
    """The user a member is limited to (deliveries of their own user budgets); None for others."""
    return principal.sub if sees_only_own(principal) else None
