"""Settings that parse recipients and refuse unsafe production setups."""

from decimal import Decimal

import pytest
from notifier.config import Settings
from notifier.domain.message import usd
from pydantic import ValidationError
from rex_shared.crypto import new_kek


def test_recipients_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REX_NOTIFIER_EMAIL_TO", " a@example.com, ,b@example.com ")
    assert Settings().email_recipients == ("a@example.com", "b@example.com")


def test_defaults_match_the_local_conventions() -> None:
    settings = Settings()
    assert (settings.port, settings.smtp_host, settings.smtp_port) == (8004, "127.0.0.1", 1025)
    assert settings.consumer_group == "notifier"
    assert settings.retry_policy.max_attempts == 8
    assert settings.slack_webhook_url.get_secret_value() == ""


def test_production_needs_its_own_database_url_and_keks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REX_ENV", "production")
    monkeypatch.setenv("REX_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("REX_KEKS", new_kek())
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings()
    monkeypatch.setenv("REX_NOTIFIER_DATABASE_URL", "postgresql://u:p@db/rex")
    assert Settings().env == "production"
    monkeypatch.delenv("REX_KEKS")
    with pytest.raises(ValidationError, match="REX_KEKS"):
        Settings()


def test_production_turns_the_transport_rules_on(monkeypatch: pytest.MonkeyPatch) -> None:
    local = Settings()
    assert (local.http_policy.security_headers, local.http_policy.require_https) == (False, False)
    assert not local.https_targets_only
    monkeypatch.setenv("REX_ENV", "production")
    monkeypatch.setenv("REX_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("REX_KEKS", new_kek())
    monkeypatch.setenv("REX_NOTIFIER_DATABASE_URL", "postgresql://u:p@db/rex")
    production = Settings()
    assert production.http_policy.security_headers and production.http_policy.require_https
    assert production.https_targets_only
    monkeypatch.setenv("REX_NOTIFIER_REQUIRE_HTTPS", "false")
    assert not Settings().http_policy.require_https


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("412.505", "$412.50"), ("412.515", "$412.52"), ("0.00725", "$0.0072"),
     ("0", "$0.00"), ("-3.5", "-$3.50"), ("1000000", "$1000000.00")],
)  # fmt: skip
def test_dollars_are_rounded_half_even_for_display(amount: str, shown: str) -> None:
    assert usd(Decimal(amount)) == shown
