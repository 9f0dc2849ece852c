"""Reply shapes of the notifications API, and how a domain object becomes one."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from notifier.domain.channels import Kind, RateLimit, Rule, StoredChannel
from notifier.domain.delivery import Delivery, Status
from notifier.domain.message import Rendered
from notifier.handlers.channel_test import ChannelTestResult


class DeliveryOut(BaseModel):
    """A delivery as the API shows it."""

    id: UUID
    event_id: str
    event_type: str
    channel_id: UUID | None
    channel_key: str
    channel_kind: str
    status: Status
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    event: dict[str, Any]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class Preview(BaseModel):
    event: str
    kind: str
    severity: str
    subject: str
    text: str
    html: str
    slack: dict[str, Any]


class ChannelOut(BaseModel):
    """A channel as the API shows it: secrets only as their last four characters."""

    id: UUID
    name: str
    kind: Kind
    enabled: bool
    config: dict[str, Any]
    secrets: dict[str, str]
    rules: list[Rule]
    rate_limit: RateLimit
    created_at: datetime
    updated_at: datetime


class ChannelPage(BaseModel):
    items: list[ChannelOut]
    next_cursor: str | None


class Deleted(BaseModel):
    id: UUID
    deleted: bool


class TestResult(BaseModel):
    """What the channel's server said to a test message."""

    channel_id: UUID
    status: Literal["sent", "failed"]
    reference: str | None
    error: str | None
    retryable: bool | None


# What a delivery keeps to itself: the raw event is shown as `event`, the rest is internal.
_HIDDEN = ("payload", "org_id", "channel_version")


def delivery_view(d: Delivery) -> dict[str, Any]:
    """A delivery as JSON."""
    fields = {k: v for k, v in vars(d).items() if k not in _HIDDEN}
    return DeliveryOut(**fields, event=d.payload).model_dump(mode="json")


def channel_view(channel: StoredChannel) -> dict[str, Any]:
    """A channel as JSON, secrets as their hints."""
    return ChannelOut(
        id=channel.id,
        name=channel.name,
        kind=channel.kind,
        enabled=channel.enabled,
        config=channel.config,
        secrets=channel.secret_hints,
        rules=list(channel.rules),
        rate_limit=channel.rate,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    ).model_dump(mode="json")


def preview_view(event: str, kind: str, severity: str, shown: Rendered) -> dict[str, Any]:
    """A rendered sample as JSON."""
    return Preview(
        event=event,
        kind=kind,
        severity=severity,
        subject=shown.subject,
        text=shown.text,
        html=shown.html,
        slack=shown.slack,
    ).model_dump()


def test_result_view(result: ChannelTestResult) -> dict[str, Any]:
    """A channel test's outcome as JSON."""
    return TestResult(
        channel_id=result.channel_id,
        status=result.status,
        reference=result.reference,
        error=result.error,
        retryable=result.retryable,
    ).model_dump(mode="json")
