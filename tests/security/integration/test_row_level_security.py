"""Row-level security as defence in depth: every table holding an org's rows is under a FORCEd
policy, the service roles cannot bypass it, and a transaction scoped to one org sees no row of
another (nor does one that forgot to scope). Tables are found from the catalog, not listed."""

from typing import Any

import asyncpg
import pytest
from rex_shared.db import scope_to_org
from rex_testkit.infra import Infra
from sec_apps import SCHEMAS, SERVICES
from sec_world import World

_TENANT_TABLES = """
SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
       (SELECT count(*) FROM pg_policies p WHERE p.schemaname = n.nspname
         AND p.tablename = c.relname) AS policies
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id'
              AND NOT a.attisdropped)
ORDER BY 1
"""


async def _tables(infra: Infra, schema: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        return list(await conn.fetch(_TENANT_TABLES, schema))
    finally:
        await conn.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_every_table_with_an_org_id_is_under_a_forced_tenant_policy(
    service: str, system: Any, sec_infra: Infra
) -> None:
    system[service]
    tables = await _tables(sec_infra, SCHEMAS[service])
    assert tables, f"no table with org_id in schema {SCHEMAS[service]}"
    loose = [
        f"{t['name']} (rls={t['enabled']}, forced={t['forced']}, policies={t['policies']})"
        for t in tables
        if not (t["enabled"] and t["forced"] and t["policies"])
    ]
    assert not loose, f"{service}: tenant tables without a forced RLS policy: {loose}"


@pytest.mark.parametrize("service", SERVICES)
async def test_the_service_role_can_neither_bypass_rls_nor_is_superuser(
    service: str, system: Any, sec_infra: Infra
) -> None:
    system[service]
    conn = await asyncpg.connect(sec_infra.pg_admin_dsn)
    try:
        role = await conn.fetchrow(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1",
            f"rex_{SCHEMAS[service]}",
        )
    finally:
        await conn.close()
    assert role is not None and not role["rolsuper"] and not role["rolbypassrls"], dict(role or {})


@pytest.mark.parametrize("service", SERVICES)
async def test_a_transaction_scoped_to_one_org_sees_no_row_of_another(
    service: str, system: Any, world: World, sec_infra: Infra
) -> None:
    served = system[service]
    names = [t["name"] for t in await _tables(sec_infra, served.schema)]
    conn = await asyncpg.connect(served.dsn, server_settings={"search_path": served.schema})
    seen_by_a: dict[str, int] = {}
    try:
        for table in names:
            async with conn.transaction():
                await scope_to_org(conn, world.b.id)
                others = await conn.fetchval(
                    f"SELECT count(*) FROM {table} WHERE org_id <> $1", world.b.id
                )
            assert others == 0, f"{table}: org B's transaction sees {others} rows of other orgs"
            async with conn.transaction():
                # Rows without an org (e.g. the public price catalog) are everyone's.
                unscoped = await conn.fetchval(
                    f"SELECT count(*) FROM {table} WHERE org_id IS NOT NULL"
                )
            assert unscoped == 0, f"{table}: an unscoped transaction sees {unscoped} rows"
            async with conn.transaction():
                await scope_to_org(conn, world.a.id)
                seen_by_a[table] = await conn.fetchval(
                    f"SELECT count(*) FROM {table} WHERE org_id = $1", world.a.id
                )
    finally:
        await conn.close()
    # The policy lets the org's own rows through (org A made objects in every service).
    assert any(seen_by_a.values()), f"org A's own transaction sees none of its rows: {seen_by_a}"
