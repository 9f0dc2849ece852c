"""Route dependencies: the app's Deps, the verified caller, one-valued queries, UTC times."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import Depends, Query, Request
from rex_shared.api import APIError
from rex_shared.auth import Principal, sees_only_own

from cost_ledger.bootstrap import Deps
from cost_ledger.entrypoints.http.schemas import NO_NUL


def deps_of(request: Request) -> Deps:
    """What bootstrap built for this app (`app.state.deps`), for code that has the request."""
    return cast(Deps, request.app.state.deps)


async def get_deps(request: Request) -> Deps:
    # async on purpose: FastAPI runs a plain `def` dependency in its threadpool, a thread hop
    # on every request that uses it.
    return deps_of(request)


DepsDep = Annotated[Deps, Depends(get_deps)]


async def _caller(request: Request) -> Principal:
    # The rate limiter (a dependency of every route, run first) verified and kept it already.
    return await deps_of(request).verify(request)


PrincipalDep = Annotated[Principal, Depends(_caller)]


def only_own(who: Principal) -> str | None:
    """The user a member is limited to (their own costs); None for admins and viewers."""
    return who.sub if sees_only_own(who) else None


async def single_valued_query(request: Request) -> None:
    """Every query parameter of these routes is one value: refuse one given twice (FastAPI
    would silently take the last, so `?to=<date>&to=0.0` read as 1970)."""
    params = request.query_params
    if len(params) != len(params.multi_items()):
        twice = sorted({k for k, _ in params.multi_items() if len(params.getlist(k)) > 1})
        errors = [{"loc": ["query", k], "msg": "given more than once", "type": "repeated"}
                  for k in twice]  # fmt: skip
        raise APIError(422, "VALIDATION_ERROR", "request is invalid", {"errors": errors})


def text() -> Any:
    """An optional text filter (a fresh Query each time: FastAPI must not share one)."""
    return Query(None, min_length=1, max_length=200, pattern=NO_NUL)


def utc(at: datetime | None, now: Callable[[], datetime]) -> datetime:
    """`at` as an aware UTC time (naive means UTC); now when absent."""
    if at is None:
        return now()
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at
