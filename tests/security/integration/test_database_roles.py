"""The three database roles: the request role sees one organization however it queries (even
with the old app.rls_bypass switch), and the worker role has only the privileges it was granted."""

from typing import Any

import asyncpg
import pytest
from rex_shared.db_roles import request_role, unsafe_reason, worker_role
from rex_testkit.infra import Infra
from sec_apps import SERVICES
from sec_world import World
from test_row_level_security import _tables

# The evaluator's tables whose rows are their evaluation's (no org_id column of their own).
_CHILDREN = ("evaluation_rows", "metric_results", "llm_calls")


class _Rollback(Exception):
    """Leaves the admin's transaction undone: org B's row existed only inside it."""


def _dsn(infra: Infra, role: str, schema: str) -> str:
    return infra.service_dsn(role, schema)  # the test kit's password: the schema name


async def _as_request_role(
    admin: asyncpg.Connection, schema: str, table: str, a: str, b: str
) -> tuple[int, int, list[Any]]:
    """Inside the admin's transaction: one of A's rows becomes B's, then the request role reads."""
    await admin.execute(
        f"UPDATE {schema}.{table} SET org_id = $2"
        f" WHERE ctid = (SELECT ctid FROM {schema}.{table} WHERE org_id = $1 LIMIT 1)",
        a,
        b,
    )
    of_b = await admin.fetchval(f"SELECT count(*) FROM {schema}.{table} WHERE org_id = $1", b)
    of_a = await admin.fetchval(f"SELECT count(*) FROM {schema}.{table} WHERE org_id = $1", a)
    await admin.execute(f"SET LOCAL ROLE {request_role('rex_' + schema)}")
    await admin.execute("SELECT set_config('app.org_id', $1, true)", a)
    seen = [r["org_id"] for r in await admin.fetch(f"SELECT * FROM {schema}.{table}")]
    return of_a, of_b, seen


@pytest.mark.parametrize("service", SERVICES)
async def test_an_unscoped_select_by_the_request_role_returns_only_the_orgs_rows(
    service: str, system: Any, world: World, sec_infra: Infra
) -> None:
    served = system[service]
    schema, a, b = served.schema, world.a.id, world.b.id
    tables = [t["name"] for t in await _tables(sec_infra, schema)]
    admin = await asyncpg.connect(sec_infra.pg_admin_dsn)
    checked = 0
    try:
        for table in tables:
            try:
                async with admin.transaction():
                    of_a, of_b, seen = await _as_request_role(admin, schema, table, a, b)
                    raise _Rollback
            except _Rollback:
                pass
            # Rows without an org (the public price catalog) are everyone's.
            assert set(seen) <= {a, None}, f"{table}: org A's request role sees {set(seen)}"
            assert seen.count(a) == of_a, f"{table}: {seen.count(a)} of org A's {of_a} rows"
            checked += of_b
    finally:
        await admin.close()
    assert checked, f"{service}: org B had no row in any table, nothing was shown"


async def test_the_evaluators_child_rows_follow_their_evaluation(
    system: Any, world: World, sec_infra: Infra
) -> None:
    schema = system["evaluator"].schema
    admin = await asyncpg.connect(sec_infra.pg_admin_dsn)
    try:
        for table in _CHILDREN:
            of_a = await admin.fetchval(
                f"SELECT count(*) FROM {schema}.{table} c JOIN {schema}.evaluations e"
                " ON e.id = c.evaluation_id WHERE e.org_id = $1",
                world.a.id,
            )
            for org, expected in ((world.a.id, of_a), (world.b.id, 0)):
                async with admin.transaction():
                    await admin.execute(f"SET LOCAL ROLE {request_role('rex_' + schema)}")
                    await admin.execute("SELECT set_config('app.org_id', $1, true)", org)
                    seen = await admin.fetchval(f"SELECT count(*) FROM {schema}.{table}")
                assert seen == expected, f"{table} as org {org}: {seen} rows, not {expected}"
    finally:
        await admin.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_the_rls_bypass_setting_reveals_nothing_to_the_request_role(
    service: str, system: Any, sec_infra: Infra
) -> None:
    schema = system[service].schema
    tables = [t["name"] for t in await _tables(sec_infra, schema)]
    conn = await asyncpg.connect(
        _dsn(sec_infra, request_role(f"rex_{schema}"), schema),
        server_settings={"search_path": schema},
    )
    try:
        assert await unsafe_reason(conn, schema=schema) is None  # the startup check passes
        for table in tables:
            async with conn.transaction():
                await conn.execute("SET LOCAL app.rls_bypass = on")
                seen = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE org_id IS NOT NULL")
            assert seen == 0, f"{table}: app.rls_bypass still shows {seen} rows"
    finally:
        await conn.close()


async def test_the_worker_role_cannot_do_what_it_was_not_granted(
    system: Any, sec_infra: Infra
) -> None:
    schema = system["notifier"].schema
    conn = await asyncpg.connect(
        _dsn(sec_infra, worker_role(f"rex_{schema}"), schema),
        server_settings={"search_path": schema},
    )
    try:
        assert await conn.fetchval("SELECT count(*) FROM channels") >= 0  # routing reads them
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM channels")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("SELECT * FROM schema_migrations")
    finally:
        await conn.close()
