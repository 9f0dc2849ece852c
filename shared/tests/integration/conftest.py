"""A throwaway schema and role for the shared-plumbing tests."""

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from rex_shared.db import provision
from rex_testkit.infra import Infra


@pytest.fixture
async def scratch_schema(infra: Infra, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """(schema, dsn) of a fresh schema owned by a fresh role; dropped afterwards."""
    schema = f"t_{secrets.token_hex(4)}"
    await provision(infra.pg_admin_dsn, schema=schema, role=f"r_{schema}", password="pw")
    yield schema, infra.service_dsn(f"r_{schema}", "pw")
    conn = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        for role in (f"r_{schema}", f"r_{schema}_api", f"r_{schema}_worker"):
            await conn.execute(f"DROP ROLE {role}")
    finally:
        await conn.close()
