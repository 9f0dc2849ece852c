"""JSON responses without the response-model round trip, for the hot pre-flight routes."""

from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from fastapi import Response

# UUIDs and datetimes as pydantic writes them (UTC as "Z").
_OPTIONS = orjson.OPT_UTC_Z


def _other(value: Any) -> str:
    # asyncpg hands out its own UUID type (orjson knows only uuid.UUID's exact type).
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")  # as rex_shared.money.Money serializes
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def fast_json(body: Any, *, status: int = 200) -> Response:
    """`body` (plain values, UUIDs, datetimes, Decimals) as an application/json Response."""
    content = orjson.dumps(body, default=_other, option=_OPTIONS)
    return Response(content, status, media_type="application/json")
