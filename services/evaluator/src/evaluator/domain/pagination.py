"""Opaque list cursors: the (created_at, id) of the last item seen, newest first."""

import base64
import binascii
from datetime import datetime
from uuid import UUID


class InvalidCursor(ValueError):
    """The cursor was not made by `encode`."""


def encode(created_at: datetime, item_id: UUID) -> str:
    """A cursor pointing just after this item."""
    raw = f"{created_at.isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, UUID]:
    """The (created_at, id) a cursor points after."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, item = raw.partition("|")
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError("cursor time has no zone")
        return when, UUID(item)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("cursor is not valid") from exc
