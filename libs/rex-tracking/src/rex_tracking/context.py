"""Who pays for a call and what it is for: explicit per call, or for a whole block."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class CallContext:
    """Who pays for a call and what it is for."""

    call_id: UUID
    org_id: str
    project_id: str
    user_id: str
    evaluation_id: UUID | None = None
    metric: str | None = None
    row_index: int | None = None


@dataclass(frozen=True)
class Payer:
    """Who pays for the calls made in a `paying(...)` block."""

    org_id: str
    project_id: str
    user_id: str


_payer: ContextVar[Payer | None] = ContextVar("rex_payer", default=None)


@contextmanager
def paying(payer: Payer) -> Iterator[Payer]:
    """Calls tracked inside this block (and the tasks it starts) are paid by `payer`."""
    token = _payer.set(payer)
    try:
        yield payer
    finally:
        _payer.reset(token)


def current_payer() -> Payer | None:
    """The payer of the enclosing `paying(...)` block, if any."""
    return _payer.get()
