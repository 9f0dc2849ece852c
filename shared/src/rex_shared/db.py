"""PostgreSQL: pools pinned to a service's schema, provisioning, and the migration runner."""

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from rex_shared.db_roles import UnsafeRequestRole, check_request_role, request_role, worker_role
from rex_shared.inbox import INBOX_DDL
from rex_shared.outbox import OUTBOX_DDL

log = logging.getLogger(__name__)

# A plain connection or one borrowed from a pool: both run the same SQL.
AnyConnection = asyncpg.Connection | PoolConnectionProxy

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_MIGRATION = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# `-- rex:include <name>` on a line of its own: the runner puts the shared DDL there.
_INCLUDE = re.compile(r"^-- rex:include ([a-z_]+)$", re.MULTILINE)
# What a migration may include: tables every service defines the same way, written once.
SHARED_DDL = {"outbox": OUTBOX_DDL, "inbox": INBOX_DDL}


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


async def create_pool(
    dsn: str, *, schema: str, min_size: int = 1, max_size: int = 10
) -> asyncpg.Pool:
    """A pool whose connections see only `schema` (and pg_catalog) by default."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": _ident(schema), "application_name": f"rex-{schema}"},
    )
    assert pool is not None
    return pool


async def provision(
    admin_dsn: str,
    *,
    schema: str,
    role: str,
    password: str,
    request_password: str | None = None,
    worker_password: str | None = None,
) -> None:
    """Create a service's three login roles and the schema the owner owns (idempotent; as admin).

    `role` is the owner; its request and worker roles (rex_shared.db_roles) get their own
    passwords, or the owner's when none is given (local and test stacks).
    """
    roles = {
        role: password,
        request_role(role): request_password or password,
        worker_role(role): worker_password or password,
    }
    conn = await asyncpg.connect(admin_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('rex-provision'))")
            for name, secret in roles.items():
                exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
                if not exists:
                    # NOSUPERUSER NOBYPASSRLS spelled out: the startup check refuses either.
                    await conn.execute(
                        f"CREATE ROLE {_ident(name)} LOGIN NOSUPERUSER NOBYPASSRLS"
                        f" PASSWORD '{_quote(secret)}'"
                    )
            await conn.execute(
                f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)} AUTHORIZATION {_ident(role)}"
            )
    finally:
        await conn.close()


async def role_pools(
    request_dsn: str,
    worker_dsn: str,
    *,
    schema: str,
    max_size: int,
    stack: AsyncExitStack | None = None,
    open_pool: Callable[..., Awaitable[asyncpg.Pool]] = create_pool,
) -> tuple[asyncpg.Pool, asyncpg.Pool]:
    """The request and worker roles' pools; refuses an unsafe request role.

    `stack` closes them (without one, the caller does); `open_pool(dsn, schema=, max_size=)`
    opens one (a service with its own pool options).
    """
    pools = []
    for dsn in (request_dsn, worker_dsn):
        pools.append(await open_pool(dsn, schema=schema, max_size=max_size))
        if stack is not None:
            stack.push_async_callback(pools[-1].close)
    try:
        await check_request_role(pools[0], schema=schema)
    except UnsafeRequestRole:
        for pool in pools if stack is None else []:  # nobody else would close them
            await pool.close()
        raise
    return pools[0], pools[1]


def migrations_dir(service: str, override: Path | str | None = None) -> Path:
    """`override` (REX_<SVC>_MIGRATIONS_DIR) if set, else this checkout's `migrations/<service>`."""
    if override:
        return Path(override)
    # Installed from the workspace, this file sits under <repo>/shared/src/rex_shared.
    for parent in (*Path(__file__).resolve().parents, Path.cwd()):
        candidate = parent / "migrations" / service
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"migrations/{service} not found: set the service's MIGRATIONS_DIR")


def expand(sql: str) -> str:
    """A migration's text with each `-- rex:include <name>` line replaced by that shared DDL."""

    def shared(match: re.Match[str]) -> str:
        if match.group(1) not in SHARED_DDL:
            raise ValueError(f"unknown include {match.group(1)!r}; known: {sorted(SHARED_DDL)}")
        return SHARED_DDL[match.group(1)].strip()

    return _INCLUDE.sub(shared, sql)


def migration_sql(path: Path) -> str:
    """The SQL a migration file runs (includes expanded)."""
    return expand(path.read_text())


def _migration_files(directory: Path) -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION.match(path.name)
        if not match:
            raise ValueError(f"migration file name must be NNNN_name.sql: {path.name}")
        found.append((match.group(1), match.group(2), migration_sql(path)))
    return found


async def migrate(dsn: str, *, schema: str, directory: Path) -> list[str]:
    """Apply pending migrations in one transaction under an advisory lock; return applied ones."""
    schema = _ident(schema)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        async with conn.transaction():
            # Two processes migrating at once: the second waits here, then sees nothing pending.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
            # The schema is normally provisioned (and owned) already; creating it needs rights
            # on the database that a service role does not have, so only try when it is absent.
            if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
                await conn.execute(f"CREATE SCHEMA {schema}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
                " version TEXT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
                " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = {
                r["version"]: r["checksum"]
                for r in await conn.fetch(
                    f"SELECT version, checksum FROM {schema}.schema_migrations"
                )
            }
            return await _apply_pending(conn, schema, directory, done)
    finally:
        await conn.close()


async def _apply_pending(
    conn: asyncpg.Connection, schema: str, directory: Path, done: dict[str, str]
) -> list[str]:
    applied = []
    for version, name, sql in _migration_files(directory):
        # Of the SQL run, includes expanded: a file that once held a copy of the shared DDL and
        # now includes it keeps its checksum, so databases migrated from the copy still migrate.
        checksum = hashlib.sha256(sql.encode()).hexdigest()
        if version in done:
            if done[version] != checksum:
                raise RuntimeError(f"migration {version}_{name} changed after it was applied")
            continue
        await conn.execute(sql)
        await conn.execute(
            f"INSERT INTO {schema}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            version,
            name,
            checksum,
        )
        log.info("applied migration %s_%s to schema %s", version, name, schema)
        applied.append(f"{version}_{name}")
    return applied


def _quote(literal: str) -> str:
    return literal.replace("'", "''")


# Row-level security. Tenant tables carry a policy like
#   USING (org_id = current_setting('app.org_id', true)
#          OR current_setting('app.rls_bypass', true) = 'on')
# with FORCE ROW LEVEL SECURITY, so a request that forgot to scope sees nothing.
RLS_POLICY = """
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY {table}_tenant ON {table}
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');
"""


async def scope_to_org(conn: AnyConnection, org_id: str) -> None:
    """Inside a transaction: rows of other organizations become invisible (RLS)."""
    await conn.execute("SELECT set_config('app.org_id', $1, true)", org_id)


async def bypass_rls(conn: AnyConnection) -> None:
    """Inside a transaction: a trusted consumer working across organizations."""
    await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")


def rls_policy_sql(table: str) -> str:
    """The SQL that puts `table` under the tenant policy (for migrations)."""
    return RLS_POLICY.format(table=_ident(table))
