"""The deliveries table: planning, claiming, pacing and recording sends (trusted, all orgs)."""

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress

import asyncpg

from notifier.adapters.batching import GroupCommit
from notifier.adapters.claims import claim_paced, take_slots
from notifier.adapters.pg import Conn, trusted_tx
from notifier.domain.channels import RateLimit
from notifier.domain.delivery import Delivery, Outcome
from notifier.domain.pacing import Taking
from notifier.ports import NewDelivery

# LISTEN/NOTIFY channel: wakes every instance's worker as soon as new rows are committed.
WAKE_CHANNEL = "rex_notifier_deliveries"

COLUMNS = (
    "id, event_id, event_type, org_id, channel_key, channel_kind, status, attempts,"
    " next_attempt_at, last_error, payload, created_at, sent_at, channel_id"
)

_INSERT = """
INSERT INTO deliveries (event_id, event_type, org_id, channel_key, channel_kind, payload,
                        channel_id)
SELECT e, t, o, k, c, p::jsonb, i
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[])
    AS r(e, t, o, k, c, p, i)
ON CONFLICT (event_id, channel_key) DO NOTHING
RETURNING id
"""

# `attempts = $2` fences out a worker whose lease ran out and whose row was claimed again.
_SENT = """
UPDATE deliveries d SET status = 'sent', sent_at = now(), last_error = NULL, updated_at = now()
FROM unnest($1::uuid[], $2::int[]) AS r(i, a)
WHERE d.id = r.i AND d.attempts = r.a AND d.status IN ('pending', 'failed')
"""

_FAILED = """
UPDATE deliveries
SET status = $3, last_error = $4, updated_at = now(),
    next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at
                           ELSE now() + make_interval(secs => $5::float8) END
WHERE id = $1 AND attempts = $2 AND status IN ('pending', 'failed')
"""


def to_delivery(row: asyncpg.Record) -> Delivery:
    """A table row as the domain's Delivery."""
    values = dict(row)
    values["payload"] = json.loads(values["payload"])
    return Delivery(**values)


async def notify_worker(conn: Conn) -> None:
    """Wake the workers when the caller's transaction commits."""
    await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)


class PgDeliveries:
    """DeliveryStore on PostgreSQL; every statement in a trusted (RLS-bypassing) transaction."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        default_rates: Mapping[str, RateLimit] | None = None,
        pacing_inline_s: float = 1.0,
    ) -> None:
        self._pool, self._within_s = pool, pacing_inline_s
        self._default_rates = dict(default_rates or {})
        # Sends finishing together are recorded in one transaction: a round trip per delivery
        # was most of the database work. A caller still returns only after its commit.
        self._sent = GroupCommit(self._write_sent)

    async def add(self, rows: Sequence[NewDelivery]) -> int:
        """Insert deliveries not planned before, in one transaction; returns how many are new."""
        if not rows:
            return 0
        columns = (
            [r.event_id for r in rows],
            [r.event_type for r in rows],
            [r.org_id for r in rows],
            [r.channel_key for r in rows],
            [r.channel_kind for r in rows],
            [json.dumps(r.payload) for r in rows],
            [r.channel_id for r in rows],
        )
        async with trusted_tx(self._pool) as conn:
            inserted = await conn.fetch(_INSERT, *columns)
            if inserted:
                await notify_worker(conn)
        return len(inserted)

    async def claim(
        self, *, limit: int, lease_s: float, channel_keys: Sequence[str]
    ) -> list[tuple[Delivery, float]]:
        """Lease up to `limit` due deliveries, as many per channel as its rate limit lets go
        within the pacing horizon; each with the seconds to wait before sending it."""
        async with trusted_tx(self._pool) as conn:
            return await claim_paced(
                conn,
                columns=COLUMNS,
                limit=limit,
                lease_s=lease_s,
                default_keys=channel_keys,
                default_rates=self._default_rates,
                within_s=self._within_s,
                parse=to_delivery,
            )

    async def mark_sent(self, delivery: Delivery) -> None:
        """Record a successful send (returns once committed)."""
        await self._sent.submit(delivery)

    async def _write_sent(self, rows: Sequence[Delivery]) -> None:
        async with trusted_tx(self._pool) as conn:
            await conn.execute(_SENT, [d.id for d in rows], [d.attempts for d in rows])

    async def mark_failed(self, delivery: Delivery, outcome: Outcome) -> None:
        """Record a failed send: `failed` with its next time, or `dead`."""
        async with trusted_tx(self._pool) as conn:
            await conn.execute(
                _FAILED,
                delivery.id,
                delivery.attempts,
                outcome.status,
                outcome.error,
                outcome.delay_s,
            )

    async def take(self, wanted: Mapping[str, Taking]) -> dict[str, tuple[float, int]]:
        """Take slots from channels' buckets (a test send); see `claims.take_slots`."""
        async with trusted_tx(self._pool) as conn:
            return await take_slots(conn, wanted)

    async def listen(self, callback: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        """Call `callback` on every wake-up notification; returns the function that stops it."""
        conn = await self._pool.acquire()

        def on_notify(*_: object) -> None:
            callback()

        await conn.add_listener(WAKE_CHANNEL, on_notify)

        async def stop() -> None:
            with suppress(Exception):  # the connection may already be gone with the database
                await conn.remove_listener(WAKE_CHANNEL, on_notify)
            await self._pool.release(conn)

        return stop
