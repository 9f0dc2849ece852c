"""Provision and migrate a service schema on the test PostgreSQL."""

import secrets

import asyncpg
from rex_shared.db import migrate, provision
from rex_shared.db_roles import request_role, worker_role

from rex_testkit.infra import Infra, repo_root


async def service_database(infra: Infra, *, service: str, schema: str) -> str:
    """Create the service's role and schema, apply its migrations, return its DSN."""
    role, password = f"rex_{schema}", schema
    await provision(infra.pg_admin_dsn, schema=schema, role=role, password=password)
    dsn = infra.service_dsn(role, password)
    await migrate(dsn, schema=schema, directory=repo_root() / "migrations" / service)
    return dsn


async def scratch_schema(infra: Infra, prefix: str) -> tuple[str, str]:
    """A fresh schema `<prefix><hex>` owned by a fresh role (no migrations yet): (schema, dsn)."""
    schema = f"{prefix}{secrets.token_hex(4)}"
    await provision(infra.pg_admin_dsn, schema=schema, role=f"rex_{schema}", password=schema)
    return schema, infra.service_dsn(f"rex_{schema}", schema)


async def drop_schema(infra: Infra, schema: str) -> None:
    """Drop a scratch schema and its three roles."""
    conn = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        owner = f"rex_{schema}"
        for role in (owner, request_role(owner), worker_role(owner)):
            await conn.execute(f"DROP ROLE IF EXISTS {role}")
    finally:
        await conn.close()


def role_dsns(infra: Infra, *, schema: str) -> tuple[str, str]:
    """The request and worker roles' DSNs of a schema `service_database` provisioned."""
    owner = f"rex_{schema}"
    return (
        infra.service_dsn(request_role(owner), schema),
        infra.service_dsn(worker_role(owner), schema),
    )


def split_dsns(owner_dsn: str, *, schema: str) -> tuple[str, str]:
    """The request and worker roles' DSNs on the server and database of an owner's DSN."""
    rest, owner = owner_dsn.split("@", 1)[1], f"rex_{schema}"
    return (
        f"postgresql://{request_role(owner)}:{schema}@{rest}",
        f"postgresql://{worker_role(owner)}:{schema}@{rest}",
    )
