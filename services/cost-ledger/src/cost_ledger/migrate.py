"""`python -m cost_ledger migrate`: apply the schema migrations, then seed the price catalog."""

import logging
from pathlib import Path

import asyncpg
from rex_shared import db

from cost_ledger.adapters.catalog_repo import upsert_rows
from cost_ledger.domain.catalog import seed_rows

log = logging.getLogger(__name__)


async def migrate_and_seed(dsn: str, *, schema: str, directory: Path) -> list[str]:
    """Idempotent and safe to run from several processes at once; returns applied migrations."""
    applied = await db.migrate(dsn, schema=schema, directory=directory)
    rows = seed_rows()
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        await upsert_rows(conn, rows)
    finally:
        await conn.close()
    log.info("schema %s: applied %s, catalog seeded with %d rows", schema, applied, len(rows))
    return applied
