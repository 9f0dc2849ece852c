"""Opaque keyset cursors: the position of the last row a list returned, as a token.

One encoding for every service: url-safe base64 (unpadded) of the position's parts joined by
`|`, datetimes in ISO 8601. Cursors the budget and notifier services issued before, base64 of
a JSON array of the parts, still decode. A cursor that does not decode is 422 INVALID_CURSOR,
like every other invalid query parameter.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from rex_shared.api import APIError

T = TypeVar("T")
Position = tuple[datetime, UUID]
_SEP = "|"


def invalid() -> APIError:
    """The error for a cursor this API did not issue."""
    return APIError(422, "INVALID_CURSOR", "cursor is not one this API returned")


def encode(*parts: object) -> str:
    """A cursor holding `parts` (datetimes as ISO 8601, anything else as its text)."""
    text = _SEP.join(p.isoformat() if isinstance(p, datetime) else str(p) for p in parts)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str | None) -> Position | None:
    """The (time, id) a newest-first list cursor points after; None when there is none."""
    if not cursor:
        return None
    at, row_id = _parts(cursor, 2)
    return _time(at), _uuid(row_id)


def decode_with_seq(cursor: str | None) -> tuple[datetime, UUID, int] | None:
    """The (time, id, sequence number) a cursor points after; None when there is none."""
    if not cursor:
        return None
    at, row_id, seq = _parts(cursor, 3)
    try:
        number = int(seq)
    except ValueError as exc:
        raise invalid() from exc
    return _time(at), _uuid(row_id), number


def cut(
    rows: Sequence[T], limit: int, position: Callable[[T], Position]
) -> tuple[list[T], str | None]:
    """A page from `limit + 1` fetched rows, with a cursor only when more rows exist."""
    page = list(rows[:limit])
    return page, (encode(*position(page[-1])) if len(rows) > limit else None)


def _parts(cursor: str, n: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid() from exc
    parts = _json_parts(raw) if raw.startswith("[") else raw.split(_SEP)
    if len(parts) != n:
        raise invalid()
    return parts


def _json_parts(raw: str) -> list[str]:
    """The parts of a cursor in the earlier JSON encoding (still accepted)."""
    try:
        parts = json.loads(raw)
    except ValueError as exc:
        raise invalid() from exc
    if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
        raise invalid()
    return parts


def _time(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise invalid() from exc
    if at.tzinfo is None:  # every cursor we issue carries its zone
        raise invalid()
    return at


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError as exc:
        raise invalid() from exc
