"""Settings fall back to the simulator; the migration carries the shared outbox table."""

from pathlib import Path

import pytest
from evaluator.config import SIM_API_KEY, Settings
from pydantic import ValidationError
from rex_shared.db import migration_sql, migrations_dir, rls_policy_sql
from rex_shared.outbox import OUTBOX_DDL
from rex_shared.security import RATE_LIMIT_DDL

SECRET = "x" * 40


def test_without_keys_both_providers_use_the_simulator() -> None:
    settings = Settings(sim_url="http://127.0.0.1:9999/")
    assert settings.openai_endpoint() == ("http://127.0.0.1:9999/v1", SIM_API_KEY)
    assert settings.anthropic_endpoint() == ("http://127.0.0.1:9999", SIM_API_KEY)


def test_a_key_selects_the_real_api() -> None:
    settings = Settings(openai_api_key="sk-test")  # type: ignore[arg-type]
    assert settings.openai_endpoint() == ("https://api.openai.com/v1", "sk-test")


def test_settings_come_from_prefixed_environment_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REX_EVALUATOR_RUN_CONCURRENCY", "7")
    monkeypatch.setenv("REX_EVALUATOR_MIGRATIONS_DIR", str(tmp_path))
    monkeypatch.setenv("REX_KAFKA_BOOTSTRAP", "kafka:9092")
    settings = Settings()
    assert (settings.run_concurrency, settings.kafka_bootstrap) == (7, "kafka:9092")
    assert migrations_dir("evaluator", settings.migrations_dir) == tmp_path


def test_production_refuses_the_local_defaults() -> None:
    with pytest.raises(ValidationError, match="database_url"):
        Settings(env="production", jwt_secret=SECRET)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="sim_url"):
        Settings(env="production", jwt_secret=SECRET, database_url="postgresql://x/y")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="REX_KEKS"):
        Settings(
            env="production",
            jwt_secret=SECRET,
            database_url="postgresql://x/y",
            sim_url="http://sim",
        )  # type: ignore[arg-type]


def test_the_default_migrations_dir_is_found_in_the_repository() -> None:
    assert (migrations_dir("evaluator") / "0001_init.sql").is_file()


def test_the_migration_creates_the_shared_outbox_table_verbatim() -> None:
    sql = migration_sql(migrations_dir("evaluator") / "0001_init.sql")
    assert OUTBOX_DDL.strip() in sql


def test_the_second_migration_carries_the_rate_limit_table_and_row_level_security() -> None:
    sql = (migrations_dir("evaluator") / "0002_datasets_costs_keys_security.sql").read_text()
    assert RATE_LIMIT_DDL.strip() in sql
    for table in ("evaluations", "datasets", "provider_keys"):
        assert rls_policy_sql(table).strip() in sql


def test_no_secret_has_a_constant_fallback() -> None:
    source = (Path(__file__).parents[2] / "src" / "evaluator" / "bootstrap.py").read_text()
    assert "local-dev-secret" not in source
