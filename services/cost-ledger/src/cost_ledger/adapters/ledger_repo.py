"""Ledger writes: one statement per batch (entries, aggregates, rollups, outbox), RLS-aware."""

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import asyncpg
from rex_shared import outbox, topics
from rex_shared.db import bypass_rls, scope_to_org

from cost_ledger.adapters import reprice_repo
from cost_ledger.adapters.ledger_sql import (
    ADJUSTMENT_COLS,
    adjustments_statement,
    charges_statement,
)
from cost_ledger.adapters.sql import columns
from cost_ledger.domain.aggregates import COST_FIELDS, TOKEN_FIELDS
from cost_ledger.domain.ledger import LedgerEntry
from cost_ledger.domain.repricing import Adjustment, Recorded, Scope
from cost_ledger.events import SOURCE, adjustment_event, cost_event_id, cost_payloads
from cost_ledger.ports import Contended

_ENTRY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("call_id", "uuid"), ("event_id", "text"), ("org_id", "text"), ("project_id", "text"),
    ("user_id", "text"), ("evaluation_id", "uuid"), ("metric", "text"), ("provider", "text"),
    ("model", "text"), ("model_id", "text"), ("requested_model", "text"), ("api", "text"),
    ("call_status", "text"), ("error", "text"), ("status", "text"), ("service_tier", "text"),
    ("batch", "bool"), ("price_id", "text"),
    ("input_tokens", "int8"), ("cache_read_tokens", "int8"), ("cache_write_tokens", "int8"),
    ("cache_write_1h_tokens", "int8"), ("output_tokens", "int8"), ("reasoning_tokens", "int8"),
    ("input_audio_tokens", "int8"), ("output_audio_tokens", "int8"),
    ("web_search_requests", "int8"),
    ("cost_input", "numeric"), ("cost_cache_read", "numeric"), ("cost_cache_write", "numeric"),
    ("cost_output", "numeric"), ("cost_input_audio", "numeric"),
    ("cost_output_audio", "numeric"), ("cost_web_search", "numeric"), ("total_cost", "numeric"),
    ("started_at", "timestamptz"), ("occurred_at", "timestamptz"), ("recorded_at", "timestamptz"),
    ("latency_ms", "int4"), ("provider_request_id", "text"), ("raw_usage", "jsonb"),
    ("row_index", "int4"),
)  # fmt: skip
_CHARGES = charges_statement(_ENTRY_COLUMNS)
_ADJUSTMENTS = adjustments_statement()
_CE_TYPE = topics.ce_type(topics.LLM_COST_RECORDED)
_CONTENDED = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)


@dataclass(frozen=True)
class Added:
    """What one statement added, per (provider, model, metric, org): for the counters."""

    provider: str
    model: str
    metric: str
    org_id: str
    calls: int
    cost: Decimal
    tokens: dict[str, int]
    announced: int


def _row(e: LedgerEntry) -> tuple[Any, ...]:
    call, usage, cost = e.call, e.call.usage, e.cost
    raw = json.dumps(call.raw_usage) if call.raw_usage is not None else None
    return (
        call.call_id, e.event_id, call.org_id, call.project_id, call.user_id, call.evaluation_id,
        call.metric, call.provider, call.model, e.model_id, call.requested_model, call.api,
        call.status, call.error, e.status, e.service_tier, e.batch, e.price_id,
        usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens,
        usage.cache_write_1h_tokens, usage.output_tokens, usage.reasoning_tokens,
        usage.input_audio_tokens, usage.output_audio_tokens, usage.web_search_requests,
        str(cost.input), str(cost.cache_read), str(cost.cache_write), str(cost.output),
        str(cost.input_audio), str(cost.output_audio), str(cost.web_search), str(cost.total),
        call.started_at, call.completed_at, e.recorded_at, call.latency_ms,
        call.provider_request_id, raw, call.row_index,
    )  # fmt: skip


def _adjustment_row(a: Adjustment) -> tuple[Any, ...]:
    return (
        a.of.call_id, a.seq, a.adjustment_id, a.event_id, a.price_id, a.model_id,
        f"reprice: {a.of.price_id or 'unpriced'} -> {a.price_id}", a.recorded_at,
        a.unpriced_delta, *(getattr(a.delta, c) for c in COST_FIELDS),
    )  # fmt: skip


def _added(rows: Sequence[asyncpg.Record]) -> list[Added]:
    tokens = TOKEN_FIELDS
    return [
        Added(r["provider"], r["model"], r["metric"], r["org_id"], r["calls"], r["cost"],
              {t: r[t] for t in tokens}, r["announced"])
        for r in rows
    ]  # fmt: skip


class PgLedgerTx:
    """The ledger side of one database transaction."""

    def __init__(self, conn: asyncpg.Connection, *, cost_topic: str, channel: str) -> None:
        self._conn, self._topic, self._channel = conn, cost_topic, channel

    def _outbox_args(self, at: datetime, keys: list[tuple[Any, int, str, bytes]]) -> list[Any]:
        ids, seqs, event_ids, payloads = (list(c) for c in zip(*keys, strict=True)) if keys else (
            [], [], [], [])  # fmt: skip
        return [self._topic, SOURCE, _CE_TYPE, at.isoformat(), ids, seqs, event_ids, payloads]

    async def _run(self, sql: str, args: list[Any]) -> list[Added]:
        rows = _added(await self._conn.fetch(sql, *args))
        if any(r.announced for r in rows):
            # The relay listens on this channel (as rex_shared.outbox.enqueue notifies it).
            await self._conn.execute("SELECT pg_notify($1, '')", self._channel)
        return rows

    async def record_charges(self, entries: Sequence[LedgerEntry], at: datetime) -> list[Added]:
        """Insert new calls (duplicates skipped) with their aggregates and cost events."""
        if not entries:
            return []
        payloads = cost_payloads(entries)
        keys = [(e.call_id, 0, cost_event_id(e.call_id), p)
                for e, p in zip(entries, payloads, strict=True)]  # fmt: skip
        args = [*columns([_row(e) for e in entries], len(_ENTRY_COLUMNS)),
                *self._outbox_args(at, keys)]  # fmt: skip
        return await self._run(_CHARGES, args)

    async def record_adjustments(
        self, adjustments: Sequence[Adjustment], at: datetime
    ) -> list[Added]:
        """Insert adjustment entries (an adjustment computed twice is stored once)."""
        if not adjustments:
            return []
        keys = [(a.of.call_id, a.seq, a.event_id, adjustment_event(a).data) for a in adjustments]
        args = [*columns([_adjustment_row(a) for a in adjustments], len(ADJUSTMENT_COLS)),
                *self._outbox_args(at, keys)]  # fmt: skip
        return await self._run(_ADJUSTMENTS, args)

    async def lock_org(self, org_id: str) -> None:
        await reprice_repo.lock_org(self._conn, org_id)

    async def recorded_calls(self, scope: Scope, *, limit: int) -> list[Recorded]:
        return await reprice_repo.recorded_calls(self._conn, scope, limit=limit)


class PgLedgerStore:
    """Hands out ledger transactions on pooled connections."""

    def __init__(self, pool: Callable[[], asyncpg.Pool], *, schema: str, cost_topic: str) -> None:
        self._pool, self._topic = pool, cost_topic  # a getter: the pool opens after wiring
        self._channel = outbox.channel(schema)

    @asynccontextmanager
    async def transaction(self, org_id: str | None = None) -> AsyncIterator[PgLedgerTx]:
        """A transaction for one org (RLS-scoped), or for the trusted consumer (all orgs)."""
        if org_id is None:
            # The consumer's batches: asyncpg's own errors reach BatchConsumer, which knows
            # them as transient (redeliver, never dead-letter).
            async with self._open(None) as tx:
                yield tx
            return
        try:
            async with self._open(org_id) as tx:
                yield tx
        except _CONTENDED as exc:  # the consumer held the same aggregate rows
            raise Contended(str(exc)) from exc

    @asynccontextmanager
    async def _open(self, org_id: str | None) -> AsyncIterator[PgLedgerTx]:
        async with self._pool().acquire() as pooled, pooled.transaction():
            # The pool hands out a proxy that behaves as a Connection; the stubs type it apart.
            conn = cast(asyncpg.Connection, pooled)
            if org_id is None:
                await bypass_rls(conn)
            else:
                await scope_to_org(conn, org_id)
            yield PgLedgerTx(conn, cost_topic=self._topic, channel=self._channel)
