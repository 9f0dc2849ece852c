"""The migration runner on a real PostgreSQL: once, twice, and from two processes at once."""

import asyncio
from pathlib import Path

import asyncpg
import pytest
from rex_shared.db import SHARED_DDL, migrate, migration_sql, migrations_dir
from rex_shared.outbox import OUTBOX_DDL


def _write(directory: Path, name: str, sql: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(sql)


async def test_migrations_apply_once_even_when_two_runners_race(
    scratch_schema: tuple[str, str], tmp_path: Path
) -> None:
    schema, dsn = scratch_schema
    mig = tmp_path / "m"
    _write(mig, "0001_init.sql", "CREATE TABLE things (id INT PRIMARY KEY);")
    _write(mig, "0002_more.sql", "ALTER TABLE things ADD COLUMN name TEXT;")

    results = await asyncio.gather(*(migrate(dsn, schema=schema, directory=mig) for _ in range(3)))

    assert sorted(len(r) for r in results) == [0, 0, 2]
    assert await migrate(dsn, schema=schema, directory=mig) == []
    conn = await asyncpg.connect(dsn)
    try:
        versions = await conn.fetch(f"SELECT version FROM {schema}.schema_migrations ORDER BY 1")
        assert [r["version"] for r in versions] == ["0001", "0002"]
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_half_applied(
    scratch_schema: tuple[str, str], tmp_path: Path
) -> None:
    schema, dsn = scratch_schema
    mig = tmp_path / "m"
    _write(mig, "0001_init.sql", "CREATE TABLE a (id INT);")
    _write(mig, "0002_bad.sql", "CREATE TABLE b (id INT); SELECT no_such_function();")
    with pytest.raises(asyncpg.PostgresError):
        await migrate(dsn, schema=schema, directory=mig)
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass($1)", f"{schema}.a") is None
    finally:
        await conn.close()


async def test_an_edited_applied_migration_is_refused(
    scratch_schema: tuple[str, str], tmp_path: Path
) -> None:
    schema, dsn = scratch_schema
    mig = tmp_path / "m"
    _write(mig, "0001_init.sql", "CREATE TABLE a (id INT);")
    await migrate(dsn, schema=schema, directory=mig)
    _write(mig, "0001_init.sql", "CREATE TABLE a (id BIGINT);")
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        await migrate(dsn, schema=schema, directory=mig)


@pytest.mark.parametrize("service", ["evaluator", "cost-ledger", "budget"])
async def test_a_database_migrated_from_the_copied_tables_keeps_migrating(
    scratch_schema: tuple[str, str], tmp_path: Path, service: str
) -> None:
    schema, dsn = scratch_schema
    released = tmp_path / "released"
    # The init migration as released: the shared tables copied into the file, no include.
    init = migration_sql(migrations_dir(service) / "0001_init.sql")
    assert "rex:include" not in init
    _write(released, "0001_init.sql", init)
    assert await migrate(dsn, schema=schema, directory=released) == ["0001_init"]

    applied = await migrate(dsn, schema=schema, directory=migrations_dir(service))

    later = sorted(p.stem for p in migrations_dir(service).glob("*.sql"))[1:]
    assert applied == later  # 0001 accepted as applied, the rest applied on top
    assert await migrate(dsn, schema=schema, directory=migrations_dir(service)) == []


async def test_a_shared_table_changed_under_an_applied_include_is_refused(
    scratch_schema: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema, dsn = scratch_schema
    mig = tmp_path / "m"
    _write(mig, "0001_init.sql", "-- rex:include outbox\n")
    await migrate(dsn, schema=schema, directory=mig)
    monkeypatch.setitem(SHARED_DDL, "outbox", OUTBOX_DDL + "ALTER TABLE outbox ADD x INT;\n")
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        await migrate(dsn, schema=schema, directory=mig)
