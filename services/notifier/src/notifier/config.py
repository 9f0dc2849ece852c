"""Notifier settings, from REX_NOTIFIER_* (and the shared REX_* variables)."""

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from rex_shared.settings import ServiceSettings

from notifier.domain.delivery import RetryPolicy

LOCAL_DATABASE_URL = "postgresql://rex_notifier:notifier@127.0.0.1:5433/rex"


class Settings(ServiceSettings):
    """Everything the notifier reads from the environment, read once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="REX_NOTIFIER_", extra="ignore", populate_by_name=True
    )

    port: int = 8004
    database_url: str = LOCAL_DATABASE_URL
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
    dashboard_url: str = "http://127.0.0.1:3000"

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
