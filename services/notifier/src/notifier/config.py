"""Notifier settings, from REX_NOTIFIER_* (and the shared REX_* variables)."""

from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from rex_shared.security import HttpPolicy
from rex_shared.settings import ServiceSettings

from notifier.domain.channels import RateLimit
from notifier.domain.delivery import RetryPolicy

LOCAL_DATABASE_URL = "postgresql://rex_notifier:notifier@127.0.0.1:5433/rex"


class Settings(ServiceSettings):
    """Everything the notifier reads from the environment, read once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="REX_NOTIFIER_", extra="ignore", populate_by_name=True
    )

    port: int = 8004
    # The request role (HTTP, under row-level security); the worker role (consumer, delivery
    # worker: every org); the owner (migrations). Unset, the last two fall back to the first.
    database_url: str = LOCAL_DATABASE_URL
    worker_database_url: str = ""
    migrate_database_url: str = ""
    consumer_group: str = "notifier"
    migrations_dir: str = ""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout_s: float = 30.0
    email_from: str = "REX alerts <rex-alerts@localhost>"
    email_to: str = Field("budget-owners@localhost", description="Comma-separated recipients")
    slack_webhook_url: SecretStr = SecretStr("")
    # Names the settings-configured channels: deliveries are keyed "email:<name>"/"slack:<name>".
    # Renaming it leaves pending deliveries of the old name unsent (no instance claims them).
    channel_name: str = Field("default", pattern=r"^[a-z0-9_-]{1,50}$")
    slack_timeout_s: int = 15
    webhook_timeout_s: float = 15.0
    test_send_timeout_s: float = Field(20.0, gt=0)
    # Extra CA certificates (PEM) trusted for SMTP TLS, e.g. an internal mail relay's CA.
    smtp_ca_file: str = ""
    dashboard_url: str = "http://127.0.0.1:3000"
    # Pacing of the settings-configured channels (table channels carry their own rate_limit).
    email_rate_per_s: float = Field(5.0, gt=0)
    email_rate_burst: int = Field(20, ge=1)
    slack_rate_per_s: float = Field(1.0, gt=0)
    slack_rate_burst: int = Field(5, ge=1)
    # A send whose rate-limit slot is this close waits in memory; later ones wait in the table.
    pacing_inline_s: float = Field(1.0, ge=0)

    # Issue 3: key-encryption keys for channel secrets, shared variable REX_KEKS.
    keks: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices("REX_KEKS", "keks"))
    jwks_url: str | None = Field(None, validation_alias=AliasChoices("REX_JWKS_URL", "jwks_url"))
    rate_limit_per_principal: int = Field(600, ge=0, description="requests/minute, 0 = off")
    rate_limit_per_org: int = Field(3000, ge=0, description="requests/minute, 0 = off")
    max_body_bytes: int = Field(262_144, ge=1024)
    security_headers: bool | None = None  # None: on in production
    require_https: bool | None = None  # None: on in production
    # Webhook and Slack URLs of table channels must be https:// (None: required in production).
    require_https_targets: bool | None = None
    db_pool_size: int = Field(16, ge=2)

    max_attempts: int = Field(8, ge=1)
    backoff_base_s: float = Field(5.0, gt=0)
    backoff_max_s: float = Field(600.0, gt=0)
    backoff_jitter: float = Field(0.2, ge=0, le=1)
    worker_poll_s: float = Field(1.0, gt=0)
    worker_batch_size: int = Field(100, ge=1)
    worker_concurrency: int = Field(16, ge=1)
    # Longer than any send can take (SMTP and Slack timeouts), so a slow send is not duplicated.
    worker_lease_s: float = Field(120.0, gt=0)

    @model_validator(mode="after")
    def _no_local_database_in_production(self) -> Self:
        if self.env == "production" and self.database_url == LOCAL_DATABASE_URL:
            raise ValueError("REX_NOTIFIER_DATABASE_URL must be set in production")
        return self

    @model_validator(mode="after")
    def _keks_in_production(self) -> Self:
        if self.env == "production" and not self.keks.get_secret_value():
            raise ValueError("REX_KEKS must be set in production (channel secrets)")
        return self

    def _production_default(self, value: bool | None) -> bool:
        return self.env == "production" if value is None else value

    @property
    def worker_dsn(self) -> str:
        """The worker role's DSN (the request role's when unset)."""
        return self.worker_database_url or self.database_url

    @property
    def migrate_dsn(self) -> str:
        """The owner's DSN, for `migrate` (the request role's when unset)."""
        return self.migrate_database_url or self.database_url

    @property
    def http_policy(self) -> HttpPolicy:
        """Body limit, security headers and HTTPS, on by default in production."""
        return HttpPolicy(
            max_body_bytes=self.max_body_bytes,
            security_headers=self._production_default(self.security_headers),
            require_https=self._production_default(self.require_https),
        )

    @property
    def https_targets_only(self) -> bool:
        """Whether channel URLs must use https://."""
        return self._production_default(self.require_https_targets)

    @property
    def email_rate(self) -> RateLimit:
        return RateLimit(per_second=self.email_rate_per_s, burst=self.email_rate_burst)

    @property
    def slack_rate(self) -> RateLimit:
        return RateLimit(per_second=self.slack_rate_per_s, burst=self.slack_rate_burst)

    @property
    def email_recipients(self) -> tuple[str, ...]:
        """The `email_to` addresses; empty means no email channel."""
        return tuple(a.strip() for a in self.email_to.split(",") if a.strip())

    @property
    def retry_policy(self) -> RetryPolicy:
        """The backoff schedule for failed deliveries."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_s=self.backoff_base_s,
            max_s=self.backoff_max_s,
            jitter=self.backoff_jitter,
        )
