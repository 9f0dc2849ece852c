"""Org-scoped reads and the manual retry of the deliveries table, for the HTTP API."""

from datetime import datetime
from uuid import UUID

import asyncpg

from notifier.adapters.deliveries_repo import COLUMNS, notify_worker, to_delivery
from notifier.domain.delivery import Delivery, Status

_PAGE = f"""
SELECT {COLUMNS} FROM deliveries
WHERE org_id = $1
  AND ($2::text IS NULL OR status = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $5
"""

_RETRY = f"""
UPDATE deliveries
SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
WHERE id = $1 AND org_id = $2 AND status = 'dead'
RETURNING {COLUMNS}
"""


class DeliveryQueries:
    """What the API reads and changes; every query is scoped to one organization."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def page(
        self,
        *,
        org_id: str,
        status: Status | None,
        limit: int,
        after: tuple[datetime, UUID] | None,
    ) -> list[Delivery]:
        """Newest first, starting after the cursor position; `limit` rows at most."""
        created, row_id = after if after else (None, None)
        rows = await self._pool.fetch(_PAGE, org_id, status, created, row_id, limit)
        return [to_delivery(r) for r in rows]

    async def get(self, *, org_id: str, delivery_id: UUID) -> Delivery | None:
        """One delivery of the org, or None (another org's delivery is None too)."""
        row = await self._pool.fetchrow(
            f"SELECT {COLUMNS} FROM deliveries WHERE id = $1 AND org_id = $2", delivery_id, org_id
        )
        return to_delivery(row) if row else None

    async def retry_dead(self, *, org_id: str, delivery_id: UUID) -> Delivery | None:
        """Give a dead delivery a fresh set of attempts; None when it is not dead (or not ours)."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_RETRY, delivery_id, org_id)
            if row:
                await notify_worker(conn)
        return to_delivery(row) if row else None
