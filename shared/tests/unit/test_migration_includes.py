"""Migrations take the shared tables by `-- rex:include`, and keep the checksums they had."""

import hashlib
from pathlib import Path

import pytest
from rex_shared.db import SHARED_DDL, expand, migration_sql, migrations_dir
from rex_shared.inbox import INBOX_DDL
from rex_shared.outbox import OUTBOX_DDL

# sha256 of each 0001_init.sql as released, when it held copies of the shared DDL: what
# schema_migrations of every database migrated since says. Expanded, the file must match it.
RELEASED = {
    "evaluator": "57a4101f033a914c25a2eebac85374b51c62bb166bf6f82d982f79a75e06a22d",
    "cost-ledger": "1345a248567a46a38243f6727f8e3a4e9c91194843ea0d9adc349b5a44456cfb",
    "budget": "e65213dca4c100bd909282259eb81b8a9f38f0fbb0d3667fe38a5661928ceba8",
}


@pytest.mark.parametrize("service", sorted(RELEASED))
def test_an_init_migration_expands_to_the_text_databases_were_migrated_with(service: str) -> None:
    path = migrations_dir(service) / "0001_init.sql"
    assert "-- rex:include outbox" in path.read_text()  # the copy is gone from the file
    assert hashlib.sha256(migration_sql(path).encode()).hexdigest() == RELEASED[service]


def test_an_include_line_becomes_the_shared_ddl() -> None:
    sql = "CREATE TABLE a (id INT);\n-- rex:include outbox\n\n-- rex:include inbox\n"
    assert expand(sql) == (
        f"CREATE TABLE a (id INT);\n{OUTBOX_DDL.strip()}\n\n{INBOX_DDL.strip()}\n"
    )
    assert set(SHARED_DDL) == {"outbox", "inbox"}


def test_only_a_line_of_its_own_includes() -> None:
    sql = "SELECT 1; -- rex:include outbox\n  -- rex:include outbox\n"
    assert expand(sql) == sql


def test_an_unknown_include_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown include 'nothing'"):
        expand("-- rex:include nothing\n")


def test_the_migrations_folder_is_the_setting_else_the_one_in_the_repository(
    tmp_path: Path,
) -> None:
    assert migrations_dir("budget", tmp_path) == tmp_path
    assert migrations_dir("notifier", str(tmp_path)) == tmp_path
    assert (migrations_dir("notifier", "") / "0001_init.sql").is_file()  # empty: not set
    with pytest.raises(FileNotFoundError, match="migrations/no-such-service"):
        migrations_dir("no-such-service")
