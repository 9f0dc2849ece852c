"""Provision and migrate a service schema on the test PostgreSQL."""

from rex_shared.db import migrate, provision

from rex_testkit.infra import Infra, repo_root


async def service_database(infra: Infra, *, service: str, schema: str) -> str:
    """Create the service's role and schema, apply its migrations, return its DSN."""
    role, password = f"rex_{schema}", schema
    await provision(infra.pg_admin_dsn, schema=schema, role=role, password=password)
    dsn = infra.service_dsn(role, password)
    await migrate(dsn, schema=schema, directory=repo_root() / "migrations" / service)
    return dsn
