"""Opaque keyset cursors for newest-first lists: (created_at, id) of the last row shown."""

import base64
import binascii
import json
from datetime import datetime
from uuid import UUID


class BadCursor(ValueError):
    """The cursor was not made by `encode_cursor`."""


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    """A URL-safe token for the position after this row."""
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (created_at, id) inside a cursor, or BadCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        return moment, UUID(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise BadCursor(cursor) from exc
