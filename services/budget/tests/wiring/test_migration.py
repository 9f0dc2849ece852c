"""The migrations carry rex_shared's tables and row-level security policies verbatim."""

import re

import pytest
from rex_shared.db import migration_sql, rls_policy_sql
from rex_shared.inbox import INBOX_DDL
from rex_shared.outbox import OUTBOX_DDL
from rex_shared.security import RATE_LIMIT_DDL
from rex_testkit.budget.schema import TENANT_TABLES
from rex_testkit.plugin import migrations_dir


def _squash(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def _all_migrations() -> str:
    text = " ".join(migration_sql(p) for p in sorted(migrations_dir("budget").glob("*.sql")))
    return _squash(re.sub(r"--[^\n]*", "", text))


@pytest.mark.parametrize(
    "ddl", [OUTBOX_DDL, INBOX_DDL, RATE_LIMIT_DDL], ids=["outbox", "inbox", "rate-limits"]
)
def test_the_shared_tables_are_copied_unchanged(ddl: str) -> None:
    assert _squash(ddl) in _all_migrations()


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_every_tenant_table_is_under_the_shared_row_level_security_policy(table: str) -> None:
    assert _squash(rls_policy_sql(table)) in _all_migrations()


def test_every_table_with_an_org_id_is_a_tenant_table() -> None:
    created = re.findall(r"CREATE TABLE (\w+) \(([^;]*)\);", _all_migrations())
    with_org = {name for name, body in created if "org_id TEXT" in body}
    added = set(re.findall(r"ALTER TABLE (\w+) ADD COLUMN org_id", _all_migrations()))
    assert with_org | added == set(TENANT_TABLES)
