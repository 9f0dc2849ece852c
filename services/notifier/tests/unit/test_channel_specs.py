"""What an admin may write as a channel: validated settings, secrets that never print."""

from pathlib import Path
from typing import Any

import pytest
from notifier.domain.channels import (
    ChannelSpec,
    EmailChannelSpec,
    missing_secrets,
    plain_secrets,
)
from notifier.domain.validation import check_url
from pydantic import TypeAdapter, ValidationError
from rex_shared.db import rls_policy_sql
from rex_shared.security import RATE_LIMIT_DDL

SPEC: TypeAdapter[Any] = TypeAdapter(ChannelSpec)
EMAIL = {
    "kind": "email",
    "name": "finops mail",
    "config": {"host": "smtp.example.com", "port": 587, "tls": "starttls", "username": "rex",
               "sender": "REX alerts <rex@example.com>",
               "recipients": ["a@example.com", "b@example.com"]},
    "secrets": {"password": "correct horse battery staple"},
}  # fmt: skip


def test_an_email_channel_with_several_recipients_is_accepted() -> None:
    spec = SPEC.validate_python(EMAIL)
    assert isinstance(spec, EmailChannelSpec)
    assert spec.config.recipients == ["a@example.com", "b@example.com"]
    assert plain_secrets(spec) == {"password": "correct horse battery staple"}


def test_secrets_never_show_in_a_specs_repr_or_dump() -> None:
    spec = SPEC.validate_python(EMAIL)
    assert "correct horse" not in repr(spec)
    assert "correct horse" not in spec.model_dump_json()


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"config": {**EMAIL["config"], "recipients": []}}, "recipients"),  # type: ignore[dict-item]
        ({"config": {**EMAIL["config"], "recipients": ["not-an-address"]}}, "recipients"),  # type: ignore[dict-item]
        ({"config": {**EMAIL["config"], "recipients": ["a@b.c\r\nBcc: x@y.z"]}}, "recipients"),  # type: ignore[dict-item]
        ({"config": {**EMAIL["config"], "sender": "x@y.z\r\nBcc: v@w.x"}}, "sender"),  # type: ignore[dict-item]
        ({"config": {**EMAIL["config"], "tls": "ssl3"}}, "tls"),  # type: ignore[dict-item]
        ({"config": {**EMAIL["config"], "port": 0}}, "port"),  # type: ignore[dict-item]
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"kind": "pager"}, "kind"),
        ({"rules": [{"event_types": ["budget.nonsense"]}]}, "event_types"),
        ({"rules": [{"min_severity": "apocalyptic"}]}, "min_severity"),
        ({"rate_limit": {"per_second": 0, "burst": 1}}, "per_second"),
        ({"surprise": True}, "surprise"),  # unknown fields are refused, not ignored
    ],
)
def test_bad_channel_fields_are_refused(change: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SPEC.validate_python({**EMAIL, **change})
    assert where in str(caught.value)


def test_slack_and_webhook_channels_need_their_url_and_signing_secret() -> None:
    assert missing_secrets("slack", {}) == ["webhook_url"]
    assert missing_secrets("webhook", {"url": "https://x.example"}) == ["signing_secret"]
    assert missing_secrets("email", {}) == []
    with pytest.raises(ValidationError, match="signing_secret"):
        secrets = {"url": "https://x.example/h", "signing_secret": "short"}
        SPEC.validate_python({"kind": "webhook", "name": "w", "secrets": secrets})


@pytest.mark.parametrize(
    ("url", "https_only", "ok"),
    [
        ("https://hooks.slack.com/services/T/B/X", True, True),
        ("http://127.0.0.1:8020/hook", False, True),
        ("http://127.0.0.1:8020/hook", True, False),
        ("ftp://example.com/x", False, False),
        ("/relative/path", False, False),
        ("https://", False, False),
    ],
)
def test_channel_urls_must_be_absolute_http_and_https_when_required(
    url: str, https_only: bool, ok: bool
) -> None:
    if ok:
        assert check_url(url, https_only=https_only) == url
    else:
        with pytest.raises(ValueError):
            check_url(url, https_only=https_only)


def test_the_migration_puts_channels_and_deliveries_under_the_shared_rls_policy() -> None:
    folder = Path(__file__).resolve().parents[4] / "migrations" / "notifier"
    sql = "\n".join(p.read_text() for p in sorted(folder.glob("*.sql")))
    for table in ("channels", "deliveries"):
        assert rls_policy_sql(table).strip() in sql
    assert "CREATE TABLE IF NOT EXISTS rate_limit_windows" in RATE_LIMIT_DDL
    assert RATE_LIMIT_DDL.strip() in sql
