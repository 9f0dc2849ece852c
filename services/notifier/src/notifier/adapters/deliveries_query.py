"""Org-scoped reads and the manual retry of the deliveries table, for the HTTP API."""

from datetime import datetime
from uuid import UUID

import asyncpg

from notifier.adapters.deliveries_repo import COLUMNS, notify_worker, to_delivery
from notifier.adapters.pg import org_tx
from notifier.domain.delivery import Delivery
from notifier.ports import DeliveryFilter

# RLS limits every statement to the org set for the transaction; `org_id = $1` says it again.
_PAGE = f"""
SELECT {COLUMNS} FROM deliveries
WHERE org_id = $1
  AND ($2::text IS NULL OR status = $2)
  AND ($3::uuid IS NULL OR channel_id = $3)
  AND ($4::text IS NULL OR channel_kind = $4)
  AND ($5::text IS NULL OR event_type = $5)
  AND ($6::text IS NULL OR event_id = $6)
  AND ($7::text IS NULL OR payload->>'budget_id' = $7)
  AND ($8::text IS NULL OR (payload->>'budget_type' = 'user' AND payload->>'entity_id' = $8))
  AND ($9::timestamptz IS NULL OR (created_at, id) < ($9, $10::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $11
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
        where: DeliveryFilter,
        limit: int,
        after: tuple[datetime, UUID] | None,
    ) -> list[Delivery]:
        """Newest first, starting after the cursor position; `limit` rows at most."""
        created, row_id = after if after else (None, None)
        budget = str(where.budget_id) if where.budget_id else None
        args = (where.status, where.channel_id, where.channel_kind, where.event_type)
        async with org_tx(self._pool, org_id) as conn:
            rows = await conn.fetch(
                _PAGE, org_id, *args, where.event_id, budget, where.own_user, created, row_id, limit
            )
        return [to_delivery(r) for r in rows]

    async def get(self, *, org_id: str, delivery_id: UUID) -> Delivery | None:
        """One delivery of the org, or None (another org's delivery is None too)."""
        async with org_tx(self._pool, org_id) as conn:
            row = await conn.fetchrow(
                f"SELECT {COLUMNS} FROM deliveries WHERE id = $1 AND org_id = $2",
                delivery_id,
                org_id,
            )
        return to_delivery(row) if row else None

    async def retry_dead(self, *, org_id: str, delivery_id: UUID) -> Delivery | None:
        """Give a dead delivery a fresh set of attempts; None when it is not dead (or not ours)."""
        async with org_tx(self._pool, org_id) as conn:
            row = await conn.fetchrow(_RETRY, delivery_id, org_id)
            if row:
                await notify_worker(conn)
        return to_delivery(row) if row else None
