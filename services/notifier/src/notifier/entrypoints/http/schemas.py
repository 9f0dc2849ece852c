"""Request shapes of the notifications API (channel bodies: domain.channels.ChannelSpec)."""

from typing import Annotated

from fastapi import Query

# PostgreSQL text cannot hold NUL: a 422, not a 500.
_TEXT = r"^[^\x00]*$"

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
TextFilter = Annotated[str | None, Query(max_length=200, pattern=_TEXT)]
EventName = Annotated[str, Query(max_length=200)]
