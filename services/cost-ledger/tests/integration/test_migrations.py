"""`migrate` (schema + catalog seed) is idempotent and safe when two processes run it at once."""

import asyncio

import asyncpg
from cost_ledger.bootstrap import migrate_and_seed
from cost_ledger.config import Settings
from cost_ledger.domain.catalog import seed_rows

MIGRATIONS = Settings(database_url="postgresql://unused@localhost/x").migrations_path()


async def test_migrations_run_twice_and_concurrently_without_error(
    fresh_schema: tuple[str, str],
) -> None:
    schema, dsn = fresh_schema
    runs = [migrate_and_seed(dsn, schema=schema, directory=MIGRATIONS) for _ in range(2)]
    first = await asyncio.gather(*runs)
    again = await migrate_and_seed(dsn, schema=schema, directory=MIGRATIONS)

    files = len(list(MIGRATIONS.glob("*.sql")))
    assert sorted(map(len, first)) == [0, files] and again == []
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', false)")
        assert await conn.fetchval("SELECT count(*) FROM price_catalog") == len(seed_rows())
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == files
    finally:
        await conn.close()


async def test_seeding_keeps_rows_an_admin_entered(fresh_schema: tuple[str, str]) -> None:
    schema, dsn = fresh_schema
    await migrate_and_seed(dsn, schema=schema, directory=MIGRATIONS)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', false)")
        await conn.execute(
            "UPDATE price_catalog SET source = 'admin', input = 99 WHERE id = $1",
            "genai:openai:gpt-4o:initial",
        )
        await migrate_and_seed(dsn, schema=schema, directory=MIGRATIONS)
        kept = await conn.fetchval(
            "SELECT input FROM price_catalog WHERE id = 'genai:openai:gpt-4o:initial'"
        )
        assert kept == 99
    finally:
        await conn.close()
