"""Opaque keyset cursors: `?limit=&cursor=` in, `next_cursor` out."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import Query
from rex_shared.api import APIError

T = TypeVar("T")
Limit = Annotated[int, Query(ge=1, le=200)]
CursorParam = Annotated[str | None, Query(max_length=200)]


def encode(at: datetime, row_id: UUID) -> str:
    """A cursor pointing just past the row (at, row_id) in a newest-first listing."""
    raw = json.dumps([at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> tuple[datetime, UUID] | None:
    """The position a cursor points to, or 400 INVALID_CURSOR."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        position = datetime.fromisoformat(at), UUID(row_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise _invalid() from exc
    if position[0].tzinfo is None:
        raise _invalid()
    return position


def _invalid() -> APIError:
    return APIError(400, "INVALID_CURSOR", "cursor is not one this API returned")


def cut(
    rows: Sequence[T], limit: int, position: Callable[[T], tuple[datetime, UUID]]
) -> tuple[list[T], str | None]:
    """A page from `limit + 1` fetched rows, with a cursor only when more rows exist."""
    page = list(rows[:limit])
    return page, (encode(*position(page[-1])) if len(rows) > limit else None)
