"""Route dependencies: the evaluator's `Deps` and the verified caller, from the app's state
(set once by bootstrap)."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Query, Request
from rex_shared import cursors
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


@dataclass(frozen=True)
class PageQuery:
    """A newest-first list's `limit` and the position its `cursor` points after."""

    limit: int
    after: cursors.Position | None

    def next_cursor(self, positions: Sequence[cursors.Position]) -> str | None:
        """The cursor after a full page's last row (None after a shorter page)."""
        return cursors.encode(*positions[-1]) if len(positions) == self.limit else None


async def page_query(
    limit: int = Query(20, ge=1, le=100), cursor: str | None = Query(None, max_length=200)
) -> PageQuery:
    return PageQuery(limit, cursors.decode(cursor))


PageDep = Annotated[PageQuery, Depends(page_query)]
