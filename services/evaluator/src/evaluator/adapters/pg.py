"""Connection typing for the repositories, transactions under row-level security, and
outbox rows written without a NOTIFY in their transaction (RelayWaker wakes the relay)."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeAlias, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.db import bypass_rls, scope_to_org

log = logging.getLogger(__name__)

# `pool.acquire()` hands out a proxy: a Connection at runtime, a different type in the stubs.
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy


def as_connection(conn: Conn) -> asyncpg.Connection:
    """`conn` for rex_shared helpers typed on asyncpg.Connection."""
    return cast(asyncpg.Connection, conn)


@asynccontextmanager
async def transaction(pool: asyncpg.Pool, org_id: str | None) -> AsyncIterator[Conn]:
    """A transaction that sees `org_id`'s rows only, or every org's (None: the trusted run
    loop). Tenant tables FORCE row-level security, so a query outside this sees nothing."""
    async with pool.acquire() as conn, conn.transaction():
        if org_id is None:
            await bypass_rls(as_connection(conn))
        else:
            await scope_to_org(as_connection(conn), org_id)
        yield conn


# An outbox row as `rex_shared.outbox.enqueue` writes it, but with no NOTIFY in the statement.
INSERT_EVENT = (
    "INSERT INTO outbox (event_id, topic, key, headers, payload) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (event_id) DO NOTHING"
)


def event_args(event: OutgoingEvent) -> tuple[Any, ...]:
    """The parameters of `INSERT_EVENT` (in that order, wherever an outbox row is inserted)."""
    headers = json.dumps({k: v.decode() for k, v in event.headers()})
    return event.id, event.topic, event.key, headers, event.data


def outbox_channel(schema: str) -> str:
    """rex_shared.outbox's wake-up channel for `schema` (checked equal by a unit test)."""
    return f"rex_outbox_{schema}"


class RelayWaker:
    """Wakes the outbox relays after outbox rows committed, with one NOTIFY per `interval_s`
    however many committed meanwhile, sent on its own outside their transactions.

    Not inside them: PostgreSQL serializes the commits of every transaction that issued a
    NOTIFY (a database-wide lock held through the WAL flush), so a NOTIFY per judge call
    would queue the calls' commits behind each other (and behind other services' outbox
    commits). A wake-up lost (a crash right after a commit) costs nothing but time: the
    relays also poll."""

    def __init__(self, pool: asyncpg.Pool, channel: str, *, interval_s: float = 0.005) -> None:
        self._pool, self._channel, self._interval = pool, channel, interval_s
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def wake(self) -> None:
        """Something committed: a NOTIFY follows soon."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._notify(), name="evaluator-relay-waker")
        else:
            self._again = True

    async def _notify(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self._again = False  # commits from here on need another NOTIFY
            try:
                async with self._pool.acquire() as conn:
                    await conn.execute("SELECT pg_notify($1, '')", self._channel)
            except Exception as exc:  # the relays' own polling picks the rows up
                log.debug("waking the outbox relay failed: %s", exc)
            if not self._again:
                return

    async def close(self) -> None:
        """Drop a pending wake-up (at shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
