"""Opaque list cursors: the position of the last row returned, base64 so clients treat it as a
token. A malformed cursor is a 422, never a 500."""

import base64
import binascii
from datetime import datetime
from uuid import UUID

from rex_shared.api import APIError


def encode(*parts: object) -> str:
    """`a|b|c` of the parts' text, url-safe base64."""
    text = "|".join(p.isoformat() if isinstance(p, datetime) else str(p) for p in parts)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _parts(cursor: str, n: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise APIError(422, "INVALID_CURSOR", "cursor is malformed") from exc
    parts = raw.split("|")
    if len(parts) != n:
        raise APIError(422, "INVALID_CURSOR", "cursor is malformed")
    return parts


def decode_call(cursor: str) -> tuple[datetime, UUID, int]:
    """(occurred_at, call_id, seq) of a /calls cursor."""
    at, call, seq = _parts(cursor, 3)
    try:
        return datetime.fromisoformat(at), UUID(call), int(seq)
    except ValueError as exc:
        raise APIError(422, "INVALID_CURSOR", "cursor is malformed") from exc


def decode_reprice(cursor: str) -> tuple[datetime, UUID]:
    """(occurred_at, call_id) of a reprice cursor."""
    at, call = _parts(cursor, 2)
    try:
        return datetime.fromisoformat(at), UUID(call)
    except ValueError as exc:
        raise APIError(422, "INVALID_CURSOR", "cursor is malformed") from exc
