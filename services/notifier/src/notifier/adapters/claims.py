"""Claiming due deliveries at each channel's pace: only as many as its token bucket lets go
within the horizon, newest first, with the wait before each. One transaction; the buckets are
locked rows, so any number of instances share each channel's rate limit."""

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import asyncpg

from notifier.adapters.pg import Conn
from notifier.domain.channels import RateLimit
from notifier.domain.delivery import Delivery
from notifier.domain.pacing import Taking, interval_s, slot_waits, takeable

# Unpaced: keys without a known rate (none in production; tests' throwaway keys).
UNLIMITED = RateLimit(per_second=10_000, burst=10_000)

# Which channels have due rows, how many, and their pace (table channels carry theirs). A worker
# takes rows of the default channels it has configured (an instance missing one during a rollout
# leaves them to one that has it) and of enabled table channels (a disabled one's rows wait).
_DUE = """
SELECT d.channel_key, count(*)::int AS due, min(c.rate_per_s) AS per_second,
       min(c.rate_burst) AS burst
FROM deliveries d LEFT JOIN channels c ON c.id = d.channel_id
WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= now()
  AND (d.channel_key = ANY($1::text[]) OR c.enabled)
GROUP BY d.channel_key
"""

# Buckets locked in key order (two workers never deadlock); a missing bucket is an idle one.
_BUCKETS_INIT = """
INSERT INTO channel_pacing (channel_key, tat) SELECT k, now() FROM unnest($1::text[]) AS k
ON CONFLICT (channel_key) DO NOTHING
"""
_BUCKETS = """
SELECT channel_key, greatest(0, extract(epoch FROM tat - now()))::float8 AS ahead_s
FROM channel_pacing WHERE channel_key = ANY($1::text[]) ORDER BY channel_key FOR UPDATE
"""
_TAKE = """
UPDATE channel_pacing p SET tat = greatest(p.tat, now()) + make_interval(secs => r.s)
FROM unnest($1::text[], $2::float8[]) AS r(k, s) WHERE p.channel_key = r.k
"""

# Up to n rows per channel, newest first (a fresh alert is not queued behind a backlog), every
# channel's first rows before any channel's second. SKIP LOCKED lets workers claim disjoint
# rows; the due conditions sit at the locking level so a row claimed meanwhile is rechecked.
# The claim is a lease: next_attempt_at moves past the send timeout, so a worker that dies
# mid-send leaves the row to be picked up again.
_CLAIM = """
WITH want AS (SELECT * FROM unnest($1::text[], $2::int[]) AS w(k, n)),
ranked AS (
    SELECT d.id, w.n,
           row_number() OVER (PARTITION BY d.channel_key ORDER BY d.created_at DESC, d.id) AS rn
    FROM deliveries d JOIN want w ON w.k = d.channel_key
    WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= now()
),
due AS (
    SELECT d.id, c.updated_at AS channel_version
    FROM ranked r JOIN deliveries d ON d.id = r.id LEFT JOIN channels c ON c.id = d.channel_id
    WHERE r.rn <= r.n AND d.status IN ('pending', 'failed') AND d.next_attempt_at <= now()
    ORDER BY r.rn, d.created_at DESC
    LIMIT $3
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE deliveries d
SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $4),
    updated_at = now()
FROM due WHERE d.id = due.id
RETURNING {columns}, due.channel_version
"""


async def claim_paced(
    conn: Conn,
    *,
    columns: str,
    limit: int,
    lease_s: float,
    default_keys: Sequence[str],
    default_rates: Mapping[str, RateLimit],
    within_s: float,
    parse: Callable[[asyncpg.Record], Delivery],
) -> list[tuple[Delivery, float]]:
    """Inside a trusted transaction: claim what each channel may send within `within_s`."""
    due = await conn.fetch(_DUE, list(default_keys))
    if not due:
        return []
    rates = {r["channel_key"]: _rate(r, default_rates) for r in due}
    keys = sorted(rates)
    await conn.execute(_BUCKETS_INIT, keys)
    ahead = {r["channel_key"]: r["ahead_s"] for r in await conn.fetch(_BUCKETS, keys)}
    wanted = {r["channel_key"]: r["due"] for r in due}
    caps = [takeable(rates[k], ahead_s=ahead[k], wanted=wanted[k], within_s=within_s) for k in keys]
    sql = _CLAIM.format(columns=", ".join("d." + c.strip() for c in columns.split(",")))
    rows = await conn.fetch(sql, keys, caps, limit, float(lease_s))
    claimed: dict[str, list[Delivery]] = defaultdict(list)
    for row in rows:
        delivery = parse(row)
        claimed[delivery.channel_key].append(delivery)
    await conn.execute(
        _TAKE, list(claimed), [len(v) * interval_s(rates[k]) for k, v in claimed.items()]
    )
    return [pair for k, batch in claimed.items() for pair in _timed(batch, rates[k], ahead[k])]


def _rate(row: asyncpg.Record, defaults: Mapping[str, RateLimit]) -> RateLimit:
    if row["per_second"] is not None:
        return RateLimit(per_second=row["per_second"], burst=row["burst"])
    return defaults.get(row["channel_key"], UNLIMITED)


def _timed(batch: list[Delivery], rate: RateLimit, ahead_s: float) -> list[tuple[Delivery, float]]:
    newest_first = sorted(batch, key=lambda d: d.created_at, reverse=True)
    return list(zip(newest_first, slot_waits(rate, ahead_s=ahead_s, count=len(batch)), strict=True))


async def take_slots(conn: Conn, wanted: Mapping[str, Taking]) -> dict[str, tuple[float, int]]:
    """Inside a trusted transaction: take slots from each channel's bucket, {key: (seconds per
    slot, decide(ahead_s) -> count)}; returns {key: (seconds it was ahead, slots taken)}."""
    keys = sorted(wanted)
    await conn.execute(_BUCKETS_INIT, keys)
    ahead = {r["channel_key"]: r["ahead_s"] for r in await conn.fetch(_BUCKETS, keys)}
    taken = {k: wanted[k][1](ahead[k]) for k in keys}
    await conn.execute(_TAKE, keys, [taken[k] * wanted[k][0] for k in keys])
    return {k: (ahead[k], taken[k]) for k in keys}
