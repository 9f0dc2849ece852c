"""What the run scheduler maintains across instances: leases, resumable runs, settlements."""

from uuid import UUID

import asyncpg

from evaluator.adapters.pg import transaction
from evaluator.adapters.rows import evaluation_from
from evaluator.domain.model import Evaluation


class PgRunLeases:
    """Leases of one instance (`owner`) on the evaluations it runs."""

    def __init__(self, pool: asyncpg.Pool, *, owner: str, lease_s: float) -> None:
        self._pool, self._owner, self._lease = pool, owner, lease_s

    async def renew(self, ids: list[UUID]) -> None:
        """Keep the leases of the runs in progress here."""
        if not ids:
            return
        async with transaction(self._pool, None) as conn:
            await conn.execute(
                "UPDATE evaluations SET lease_until = now() + make_interval(secs => $3)"
                " WHERE id = ANY($1::uuid[]) AND lease_owner = $2",
                ids,
                self._owner,
                self._lease,
            )

    async def release(self) -> None:
        """Give up every lease of this instance (shutdown): others may resume at once."""
        async with transaction(self._pool, None) as conn:
            await conn.execute(
                "UPDATE evaluations SET lease_until = NULL, lease_owner = NULL"
                " WHERE lease_owner = $1 AND status IN ('queued', 'running')",
                self._owner,
            )

    async def resumable(self, limit: int = 100) -> list[UUID]:
        """Unfinished evaluations nobody holds a live lease on (a restart, a crash)."""
        async with transaction(self._pool, None) as conn:
            records = await conn.fetch(
                "SELECT id FROM evaluations WHERE status IN ('queued', 'running')"
                " AND (lease_until IS NULL OR lease_until < now())"
                " ORDER BY created_at LIMIT $1",
                limit,
            )
        return [r["id"] for r in records]

    async def unsettled(self, limit: int = 100) -> list[Evaluation]:
        """Finished evaluations whose budget reservation is still held."""
        async with transaction(self._pool, None) as conn:
            records = await conn.fetch(
                "SELECT * FROM evaluations WHERE reservation_id IS NOT NULL"
                " AND settled_at IS NULL AND status IN ('completed', 'failed', 'cancelled')"
                " ORDER BY completed_at LIMIT $1",
                limit,
            )
        return [evaluation_from(r) for r in records]

    async def mark_settled(self, evaluation_id: UUID) -> None:
        async with transaction(self._pool, None) as conn:
            await conn.execute(
                "UPDATE evaluations SET settled_at = now() WHERE id = $1 AND settled_at IS NULL",
                evaluation_id,
            )
