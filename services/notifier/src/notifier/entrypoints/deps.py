"""What the routes share: the caller dependency, app state, cursors."""

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import Request
from rex_shared.api import APIError
from rex_shared.auth import Principal

from notifier.domain.paging import BadCursor, decode_cursor

Caller = Callable[[Request], Coroutine[Any, Any, Principal]]


def state(request: Request, name: str) -> Any:
    """Something the lifespan put on app.state (503 when the app is not started)."""
    try:
        return getattr(request.app.state, name)
    except AttributeError:
        raise APIError(503, "NOT_READY", "the service is starting") from None


def after(cursor: str | None) -> tuple[datetime, UUID] | None:
    """The position a list cursor points after, or 422 INVALID_CURSOR."""
    try:
        return decode_cursor(cursor) if cursor else None
    except BadCursor as exc:
        raise APIError(422, "INVALID_CURSOR", "cursor is not valid") from exc
