"""The deliveries table: planning, claiming and recording sends (parameterized asyncpg SQL)."""

import json
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from notifier.domain.delivery import Delivery, Outcome
from notifier.ports import NewDelivery

# LISTEN/NOTIFY channel: wakes every instance's worker as soon as new rows are committed.
WAKE_CHANNEL = "rex_notifier_deliveries"

COLUMNS = (
    "id, event_id, event_type, org_id, channel_key, channel_kind, status, attempts,"
    " next_attempt_at, last_error, payload, created_at, sent_at"
)

_INSERT = """
INSERT INTO deliveries (event_id, event_type, org_id, channel_key, channel_kind, payload)
SELECT e, t, o, k, c, p::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
    AS r(e, t, o, k, c, p)
ON CONFLICT (event_id, channel_key) DO NOTHING
RETURNING id
"""

# SKIP LOCKED lets several workers claim disjoint rows. A worker claims only rows of channels it
# can send to, so an instance missing a channel (config rollout) leaves them to one that has it.
# The claim is a lease: the row stays pending/failed with next_attempt_at pushed past the send
# timeout, so a worker that dies mid-send leaves it to be picked up again instead of stuck.
_CLAIM = f"""
WITH due AS (
    SELECT id FROM deliveries
    WHERE status IN ('pending', 'failed') AND next_attempt_at <= now()
      AND channel_key = ANY($3::text[])
    ORDER BY next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d
SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2),
    updated_at = now()
FROM due WHERE d.id = due.id
RETURNING {", ".join("d." + c.strip() for c in COLUMNS.split(","))}
"""

# `attempts = $2` fences out a worker whose lease ran out and whose row was claimed again.
_SENT = """
UPDATE deliveries SET status = 'sent', sent_at = now(), last_error = NULL, updated_at = now()
WHERE id = $1 AND attempts = $2 AND status IN ('pending', 'failed')
"""

_FAILED = """
UPDATE deliveries
SET status = $3, last_error = $4, updated_at = now(),
    next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at
                           ELSE now() + make_interval(secs => $5::float8) END
WHERE id = $1 AND attempts = $2 AND status IN ('pending', 'failed')
"""


# A string: asyncpg's classes are generic only in its type stubs.
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


def to_delivery(row: asyncpg.Record) -> Delivery:
    """A table row as the domain's Delivery."""
    values = dict(row)
    values["payload"] = json.loads(values["payload"])
    return Delivery(**values)


async def notify_worker(conn: Conn) -> None:
    """Wake the workers when the caller's transaction commits."""
    await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)


class PgDeliveries:
    """DeliveryStore on PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

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
        )
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetch(_INSERT, *columns)
            if inserted:
                await notify_worker(conn)
        return len(inserted)

    async def claim(
        self, *, limit: int, lease_s: float, channel_keys: Sequence[str]
    ) -> list[Delivery]:
        """Take up to `limit` due deliveries of these channels for `lease_s` seconds."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_CLAIM, limit, float(lease_s), list(channel_keys))
        return [to_delivery(r) for r in rows]

    async def mark_sent(self, delivery: Delivery) -> None:
        """Record a successful send."""
        await self._pool.execute(_SENT, delivery.id, delivery.attempts)

    async def mark_failed(self, delivery: Delivery, outcome: Outcome) -> None:
        """Record a failed send: `failed` with its next time, or `dead`."""
        await self._pool.execute(
            _FAILED, delivery.id, delivery.attempts, outcome.status, outcome.error, outcome.delay_s
        )

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
