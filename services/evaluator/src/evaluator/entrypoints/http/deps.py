"""Route dependencies: the evaluator's `Deps` and the verified caller, from the app's state
(set once by bootstrap)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from fastapi import Depends, Request
from rex_shared.auth import Principal

from evaluator.bootstrap import Deps


def deps_of(request: Request) -> Deps:
    """What bootstrap built for this app (`app.state.deps`), for code that has the request."""
    return cast(Deps, request.app.state.deps)


async def get_deps(request: Request) -> Deps:
    # async on purpose: FastAPI runs a plain `def` dependency in its threadpool, a thread hop
    # on every request that uses it.
    return deps_of(request)


async def get_principal(request: Request) -> Principal:
    verify = cast(Callable[[Request], Awaitable[Principal]], request.app.state.principal)
    return await verify(request)


DepsDep = Annotated[Deps, Depends(get_deps)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
