"""What a cost report reads: a window of daily rollups, or a filter of ledger rows."""

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID


@dataclass(frozen=True)
class Window:
    """Which daily rollup rows to add up: [start, end) days of one org, optionally narrowed."""

    org_id: str
    start: date
    end: date
    user_id: str | None = None
    project_id: str | None = None
    provider: str | None = None
    model: str | None = None
    metric: str | None = None


@dataclass(frozen=True)
class CallFilter:
    """Filters of GET /costs/calls."""

    org_id: str
    user_id: str | None = None
    project_id: str | None = None
    evaluation_id: UUID | None = None
    provider: str | None = None
    model: str | None = None
    metric: str | None = None
    status: str | None = None
    entry_kind: str | None = None
    start: datetime | None = None
    end: datetime | None = None


Cursor = tuple[datetime, UUID, int]
