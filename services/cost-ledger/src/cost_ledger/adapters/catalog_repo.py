"""The price catalog table: idempotent seeding and loading it whole into memory."""

from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any, cast

import asyncpg
from rex_shared.db import bypass_rls, scope_to_org

from cost_ledger.adapters.sql import columns, unnest_select
from cost_ledger.domain.pricebook import CatalogRow
from cost_ledger.domain.pricing import Rates

_RATE_COLUMNS = tuple(f.name for f in fields(Rates))
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "text"), ("provider", "text"), ("model_id", "text"), ("model_name", "text"),
    ("service_tier", "text"), ("batch", "bool"), ("org_id", "text"),
    ("effective_from", "timestamptz"), ("effective_to", "timestamptz"),
    *((c, "int4" if c == "long_context_threshold" else "numeric") for c in _RATE_COLUMNS),
    ("source", "text"),
)  # fmt: skip
_NAMES = ", ".join(c for c, _ in _COLUMNS)
_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c, _ in _COLUMNS if c != "id")

_UPSERT = (
    f"INSERT INTO price_catalog ({_NAMES})"
    f" {unnest_select(_COLUMNS)}"
    f" ON CONFLICT (id) DO UPDATE SET {_UPDATES}, updated_at = now()"
    # Seeding never touches prices an admin entered, and skips rows that did not change.
    f" WHERE price_catalog.source <> 'admin'"
    f" AND ({', '.join(f'price_catalog.{c}' for c, _ in _COLUMNS)})"
    f" IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c, _ in _COLUMNS)})"
)


def _row(r: CatalogRow) -> tuple[Any, ...]:
    rates = tuple(getattr(r.rates, c) for c in _RATE_COLUMNS)
    return (r.id, r.provider, r.model_id, r.model_name, r.service_tier, r.batch, r.org_id,
            r.effective_from, r.effective_to, *rates, r.source)  # fmt: skip


async def upsert_rows(conn: asyncpg.Connection, rows: Sequence[CatalogRow]) -> None:
    """Insert or refresh catalog rows by id, serialized so concurrent seeders never deadlock."""
    async with conn.transaction():
        await bypass_rls(conn)  # public rows: trusted code only (RLS)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('rex-ledger-seed-catalog'))")
        ordered = sorted(rows, key=lambda r: r.id)
        await conn.execute(_UPSERT, *columns([_row(r) for r in ordered], len(_COLUMNS)))


def _from_record(rec: asyncpg.Record) -> CatalogRow:
    return CatalogRow(
        id=rec["id"], provider=rec["provider"], model_id=rec["model_id"],
        model_name=rec["model_name"], service_tier=rec["service_tier"], batch=rec["batch"],
        effective_from=rec["effective_from"], effective_to=rec["effective_to"],
        rates=Rates(**{c: rec[c] for c in _RATE_COLUMNS}), source=rec["source"],
        org_id=rec["org_id"],
    )  # fmt: skip


async def load_rows(pool: asyncpg.Pool) -> list[CatalogRow]:
    """Every catalog row, public and every org's (a few thousand: held in memory; the price
    book only ever hands an org its own rows)."""
    async with pool.acquire() as conn, conn.transaction():
        await bypass_rls(cast(asyncpg.Connection, conn))
        records = await conn.fetch(f"SELECT {_NAMES} FROM price_catalog")
    return [_from_record(r) for r in records]


async def insert_row(
    conn: asyncpg.Connection, row: CatalogRow, *, created_by: str, note: str | None
) -> bool:
    """Add one admin price; False when a row with its id (same key and start) exists."""
    n = len(_COLUMNS)
    sql = (
        f"INSERT INTO price_catalog ({_NAMES}, created_by, note)"
        f" SELECT *, ${n + 1}::text, ${n + 2}::text FROM unnest("
        + ", ".join(f"${i}::{t}[]" for i, (_, t) in enumerate(_COLUMNS, 1))
        + ") ON CONFLICT (id) DO NOTHING RETURNING id"
    )
    args = [[v] for v in _row(row)]
    return await conn.fetchval(sql, *args, created_by, note) is not None


class PgCatalog:
    """The Catalog port on a pool."""

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool  # a getter: the pool opens after wiring

    async def rows(self) -> list[CatalogRow]:
        return await load_rows(self._pool())

    async def add(self, row: CatalogRow, *, org_id: str, created_by: str, note: str | None) -> bool:
        """Insert in a transaction scoped to the caller's org; a public row bypasses RLS."""
        async with self._pool().acquire() as pooled, pooled.transaction():
            conn = cast(asyncpg.Connection, pooled)
            await scope_to_org(conn, org_id)
            if row.org_id is None:
                await bypass_rls(conn)  # a public row: the handler authorized it
            return await insert_row(conn, row, created_by=created_by, note=note)
