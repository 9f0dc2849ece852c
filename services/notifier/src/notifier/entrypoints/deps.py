"""What the routes share: the caller dependency and app state."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from rex_shared.api import APIError
from rex_shared.auth import Principal

Caller = Callable[[Request], Coroutine[Any, Any, Principal]]


def state(request: Request, name: str) -> Any:
    """Something the lifespan put on app.state (503 when the app is not started)."""
    try:
        return getattr(request.app.state, name)
    except AttributeError:
        raise APIError(503, "NOT_READY", "the service is starting") from None
