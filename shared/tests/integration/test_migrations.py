"""The migration runner on a real PostgreSQL: once, twice, and from two processes at once."""

import asyncio
from pathlib import Path

import asyncpg
import pytest
from rex_shared.db import migrate


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
