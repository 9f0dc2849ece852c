"""The startup check: a request role that could read every organization's rows is refused."""

import asyncpg
import pytest
from rex_shared.db_roles import UnsafeRequestRole, check_request_role
from rex_testkit.infra import Infra


async def _check(dsn: str, schema: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    assert pool is not None
    try:
        await check_request_role(pool, schema=schema)
    finally:
        await pool.close()


async def test_provisioning_creates_three_plain_login_roles(
    scratch_schema: tuple[str, str], infra: Infra
) -> None:
    schema, _ = scratch_schema
    conn = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT rolname, rolcanlogin, rolsuper, rolbypassrls FROM pg_roles"
            " WHERE rolname LIKE $1 ORDER BY rolname",
            f"r_{schema}%",
        )
    finally:
        await conn.close()
    names = [f"r_{schema}", f"r_{schema}_api", f"r_{schema}_worker"]
    assert [r["rolname"] for r in rows] == names
    assert all(r["rolcanlogin"] and not r["rolsuper"] and not r["rolbypassrls"] for r in rows)


async def test_a_role_that_owns_nothing_passes(
    scratch_schema: tuple[str, str], infra: Infra
) -> None:
    schema, dsn = scratch_schema
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute(f"CREATE TABLE {schema}.things (org_id TEXT)")
    finally:
        await owner.close()
    await _check(infra.service_dsn(f"r_{schema}_api", "pw"), schema)


async def test_the_owner_of_a_table_is_refused(
    scratch_schema: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    schema, dsn = scratch_schema
    owner = await asyncpg.connect(dsn)
    try:
        await owner.execute(f"CREATE TABLE {schema}.things (org_id TEXT)")
    finally:
        await owner.close()
    with pytest.raises(UnsafeRequestRole, match=f"request role r_{schema} owns tables"):
        await _check(dsn, schema)
    assert f"refusing to start: request role r_{schema} owns tables" in caplog.text


async def test_a_superuser_is_refused(scratch_schema: tuple[str, str], infra: Infra) -> None:
    schema, _ = scratch_schema
    conn = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        superuser = await conn.fetchval(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        )
        await conn.execute(f"ALTER ROLE r_{schema}_api BYPASSRLS")
    finally:
        await conn.close()
    if superuser:
        with pytest.raises(UnsafeRequestRole, match="is a superuser"):
            await _check(infra.pg_admin_dsn, schema)
    with pytest.raises(UnsafeRequestRole, match="has BYPASSRLS"):
        await _check(infra.service_dsn(f"r_{schema}_api", "pw"), schema)
