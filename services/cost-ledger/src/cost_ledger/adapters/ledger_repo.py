"""Ledger writes: many rows per round trip, aggregates and outbox in the same transaction."""

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast
from uuid import UUID

import asyncpg
from rex_shared import outbox
from rex_shared.cloudevents import OutgoingEvent

from cost_ledger.adapters.aggregates_repo import upsert_evaluations, upsert_metrics
from cost_ledger.adapters.sql import columns, unnest_select
from cost_ledger.domain.aggregates import by_evaluation, by_metric
from cost_ledger.domain.ledger import LedgerEntry

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
)  # fmt: skip

_INSERT = (
    f"INSERT INTO ledger_entries ({', '.join(c for c, _ in _ENTRY_COLUMNS)})"
    f" {unnest_select(_ENTRY_COLUMNS)}"
    " ON CONFLICT (call_id) DO NOTHING RETURNING call_id"
)


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
        cost.input, cost.cache_read, cost.cache_write, cost.output, cost.input_audio,
        cost.output_audio, cost.web_search, cost.total,
        call.started_at, call.completed_at, e.recorded_at, call.latency_ms,
        call.provider_request_id, raw,
    )  # fmt: skip


class PgLedgerTx:
    """The ledger side of one database transaction."""

    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self._conn, self._schema = conn, schema

    async def insert_entries(self, entries: Sequence[LedgerEntry]) -> set[UUID]:
        """Insert rows whose call_id is new; return the call_ids actually inserted."""
        if not entries:
            return set()
        rows = await self._conn.fetch(
            _INSERT, *columns([_row(e) for e in entries], len(_ENTRY_COLUMNS))
        )
        return {r["call_id"] for r in rows}

    async def add_to_aggregates(self, entries: Sequence[LedgerEntry]) -> None:
        """Fold new rows into the evaluation and evaluation-metric totals."""
        await upsert_evaluations(self._conn, by_evaluation(entries))
        await upsert_metrics(self._conn, by_metric(entries))

    async def enqueue(self, events: list[OutgoingEvent]) -> None:
        await outbox.enqueue(self._conn, events, schema=self._schema)


class PgLedgerStore:
    """Hands out ledger transactions on pooled connections."""

    def __init__(self, pool: asyncpg.Pool, *, schema: str) -> None:
        self._pool, self._schema = pool, schema

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgLedgerTx]:
        async with self._pool.acquire() as conn, conn.transaction():
            # The pool hands out a proxy that behaves as a Connection; the stubs type it apart.
            yield PgLedgerTx(cast(asyncpg.Connection, conn), self._schema)
