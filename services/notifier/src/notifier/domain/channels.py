"""What a channel is: its kind, non-secret settings, secrets, routing rules and pace."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from rex_shared import topics
from rex_shared.events import Severity

from notifier.domain.validation import email_address, sender_address, unstorable

Kind = Literal["email", "slack", "webhook"]
KINDS: tuple[Kind, ...] = ("email", "slack", "webhook")

# The event types a rule may name: the budget topics rex_shared defines.
EVENT_TYPES = tuple(t for t in topics.ALL_TOPICS if t.startswith("budget."))

_NAME = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(_Strict):
    """A token bucket: `burst` sends at once, then `per_second` on average."""

    per_second: float = Field(gt=0, le=10_000)
    burst: int = Field(ge=1, le=10_000)


DEFAULT_RATES: dict[Kind, RateLimit] = {
    "email": RateLimit(per_second=5, burst=20),
    "slack": RateLimit(per_second=1, burst=5),  # Slack: about one message per second a hook
    "webhook": RateLimit(per_second=10, burst=20),
}


class Rule(_Strict):
    """Which events a channel gets; an empty list means any. All conditions must hold."""

    event_types: list[str] = Field(default_factory=list, max_length=10)
    project_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=100
    )
    budget_ids: list[UUID] = Field(default_factory=list, max_length=100)
    min_severity: Severity = "info"

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {list(EVENT_TYPES)}")
        return value


class EmailConfig(_Strict):
    """SMTP server, TLS mode, login name, sender and recipients (the password is a secret)."""

    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]_-]+$")
    port: int = Field(587, ge=1, le=65535)
    tls: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = Field(None, max_length=320)
    sender: str
    recipients: list[str] = Field(min_length=1, max_length=50)

    @field_validator("sender")
    @classmethod
    def _check_sender(cls, value: str) -> str:
        return sender_address(value)

    @field_validator("recipients")
    @classmethod
    def _check_recipients(cls, value: list[str]) -> list[str]:
        return [email_address(v.strip()) for v in value]


class EmailSecrets(_Strict):
    password: SecretStr | None = Field(None, max_length=1000)


class NoConfig(_Strict):
    """Slack and webhook channels keep everything in their (secret) URL."""


class SlackSecrets(_Strict):
    webhook_url: SecretStr = Field(min_length=10, max_length=2000)


class WebhookSecrets(_Strict):
    url: SecretStr = Field(min_length=10, max_length=2000)
    signing_secret: SecretStr = Field(min_length=32, max_length=200)


class _ChannelBase(_Strict):
    name: str = Field(pattern=_NAME)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        # JSON can carry "\u0000" and lone surrogates; refused here (422), not a 500 later.
        if unstorable(data):
            raise ValueError("text with NUL characters or lone surrogates")
        return data

    enabled: bool = True
    rules: list[Rule] = Field(default_factory=list, max_length=20)
    rate_limit: RateLimit | None = None


class EmailChannelSpec(_ChannelBase):
    kind: Literal["email"]
    config: EmailConfig
    secrets: EmailSecrets | None = None


class SlackChannelSpec(_ChannelBase):
    kind: Literal["slack"]
    config: NoConfig = NoConfig()
    secrets: SlackSecrets | None = None


class WebhookChannelSpec(_ChannelBase):
    kind: Literal["webhook"]
    config: NoConfig = NoConfig()
    secrets: WebhookSecrets | None = None


ChannelSpec = Annotated[
    EmailChannelSpec | SlackChannelSpec | WebhookChannelSpec, Field(discriminator="kind")
]
"""A channel as an admin writes it; `secrets` None keeps the stored ones (PUT)."""

AnySpec = EmailChannelSpec | SlackChannelSpec | WebhookChannelSpec


def plain_secrets(spec: AnySpec) -> dict[str, str] | None:
    """The secrets of a spec as plain strings (to encrypt), or None when not given."""
    if spec.secrets is None:
        return None
    values: dict[str, str] = {}
    for name, value in spec.secrets:
        if isinstance(value, SecretStr):
            values[name] = value.get_secret_value()
    return values


def missing_secrets(kind: Kind, secrets: dict[str, str]) -> list[str]:
    """Secrets a channel of `kind` cannot work without."""
    required = {"email": (), "slack": ("webhook_url",), "webhook": ("url", "signing_secret")}
    return [name for name in required[kind] if not secrets.get(name)]


def url_secrets(kind: Kind) -> tuple[str, ...]:
    """The secrets of `kind` that are URLs."""
    return {"email": (), "slack": ("webhook_url",), "webhook": ("url",)}[kind]


@dataclass(frozen=True)
class StoredChannel:
    """A channel as kept in the table; its secrets stay encrypted unless asked for."""

    id: UUID
    org_id: str | None
    kind: Kind
    name: str
    enabled: bool
    config: dict[str, Any]
    rules: tuple[Rule, ...]
    rate: RateLimit
    secret_hints: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @property
    def key(self) -> str:
        """The delivery rows' channel_key for this channel."""
        return channel_key(self.id)


def channel_key(channel_id: UUID) -> str:
    """`channel:<uuid>`, the key of a table channel's deliveries."""
    return f"channel:{channel_id}"
