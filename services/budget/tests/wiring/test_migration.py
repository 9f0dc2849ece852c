"""The migration carries rex_shared's outbox and inbox tables verbatim."""

import re

import pytest
from rex_shared.inbox import INBOX_DDL
from rex_shared.outbox import OUTBOX_DDL
from rex_shared.testing.plugin import migrations_dir


def _squash(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


@pytest.mark.parametrize("ddl", [OUTBOX_DDL, INBOX_DDL], ids=["outbox", "inbox"])
def test_the_shared_tables_are_copied_unchanged(ddl: str) -> None:
    migration = (migrations_dir("budget") / "0001_init.sql").read_text()
    assert _squash(ddl) in _squash(migration)
