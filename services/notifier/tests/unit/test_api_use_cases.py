"""The API's use cases with fakes: each refusal is a domain error with today's code."""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from notifier.adapters.renderer import Renderer
from notifier.domain.channels import RateLimit, SlackChannelSpec, StoredChannel
from notifier.domain.delivery import Delivery, TransientError
from notifier.handlers import channel_test, channels, history, preview
from notifier.ports import ChannelKindChanged, ChannelNameTaken, SecretsUnreadable
from rex_shared.errors import Conflict, Invalid, NotFound, TooMany

ORG = "org-use-cases"
RENDERER = Renderer(dashboard_url="https://rex.example.com")
SLACK = {"webhook_url": "https://hooks.slack.com/services/T/B/X"}


def _delivery(status: str = "dead", **payload: Any) -> Delivery:
    now = datetime.now(UTC)
    return Delivery(
        id=uuid4(), event_id="e-1", event_type="budget.threshold.crossed", org_id=ORG,
        channel_key="email:default", channel_kind="email", status=status, attempts=8,
        next_attempt_at=now, last_error=None, payload=payload, created_at=now, sent_at=None,
    )  # type: ignore[arg-type]  # fmt: skip


class Deliveries:
    """DeliveryReads over one delivery; `retry_dead` retries it only when dead."""

    def __init__(self, delivery: Delivery | None) -> None:
        self.delivery = delivery

    async def page(self, **_: Any) -> list[Delivery]:
        return [self.delivery] if self.delivery else []

    async def get(self, **_: Any) -> Delivery | None:
        return self.delivery

    async def retry_dead(self, **_: Any) -> Delivery | None:
        dead = self.delivery is not None and self.delivery.status == "dead"
        return self.delivery if dead else None


async def test_a_member_does_not_see_a_delivery_of_another_users_budget() -> None:
    mine = _delivery(budget_type="user", entity_id="u-1")
    found = await history.get_delivery(
        mine.id, org_id=ORG, own_user="u-1", deliveries=Deliveries(mine)
    )
    assert found is mine
    with pytest.raises(NotFound) as caught:
        await history.get_delivery(mine.id, org_id=ORG, own_user="u-2", deliveries=Deliveries(mine))
    assert (caught.value.code, caught.value.message) == ("NOT_FOUND", "delivery not found")


async def test_only_a_dead_delivery_is_retried() -> None:
    sent = _delivery("sent")
    with pytest.raises(Conflict) as caught:
        await history.retry_delivery(sent.id, org_id=ORG, deliveries=Deliveries(sent))
    assert caught.value.code == "DELIVERY_NOT_DEAD"
    with pytest.raises(NotFound):
        await history.retry_delivery(uuid4(), org_id=ORG, deliveries=Deliveries(None))
    dead = _delivery("dead")
    assert await history.retry_delivery(dead.id, org_id=ORG, deliveries=Deliveries(dead)) is dead


def test_a_preview_of_an_unknown_event_names_the_known_ones() -> None:
    with pytest.raises(Invalid) as caught:
        preview.preview("budget.nope", kind="actual", severity="info", renderer=RENDERER)
    assert caught.value.code == "UNKNOWN_EVENT_TYPE"
    assert "budget.period.closed" in caught.value.details["known"]


class Channels:
    """ChannelStore that raises what it is told to, or answers None (not found)."""

    def __init__(self, error: Exception | None = None, found: Any = None) -> None:
        self.error, self.found = error, found

    async def _answer(self, **_: Any) -> Any:
        if self.error:
            raise self.error
        return self.found

    create = update = get = with_secrets = _answer

    async def delete(self, **_: Any) -> bool:
        return False


def _spec(**secrets: str) -> SlackChannelSpec:
    body = {"name": "ops", "kind": "slack", "secrets": secrets or None}
    return SlackChannelSpec.model_validate(body)


async def test_channel_refusals_keep_their_codes() -> None:
    with pytest.raises(Invalid) as missing:
        await channels.create_channel(_spec(), org_id=ORG, https_only=False, channels=Channels())
    assert missing.value.code == "SECRETS_REQUIRED"
    plain = _spec(webhook_url="http://hooks.example.com/x")
    with pytest.raises(Invalid) as insecure:
        await channels.create_channel(plain, org_id=ORG, https_only=True, channels=Channels())
    assert insecure.value.code == "INVALID_URL"
    taken = Channels(ChannelNameTaken("ops"))
    with pytest.raises(Conflict) as name:
        await channels.create_channel(_spec(**SLACK), org_id=ORG, https_only=True, channels=taken)
    assert name.value.code == "CHANNEL_NAME_TAKEN"
    kind = Channels(ChannelKindChanged("email"))
    with pytest.raises(Conflict) as changed:
        await channels.update_channel(
            _spec(), channel_id=uuid4(), org_id=ORG, https_only=True, channels=kind
        )
    assert (changed.value.code, changed.value.message) == (
        "CHANNEL_KIND_CHANGED", "the channel is email"
    )  # fmt: skip
    for missing_one in (
        channels.get_channel(uuid4(), org_id=ORG, channels=Channels()),
        channels.delete_channel(uuid4(), org_id=ORG, channels=Channels()),
        channels.update_channel(
            _spec(), channel_id=uuid4(), org_id=ORG, https_only=True, channels=Channels()
        ),
    ):
        with pytest.raises(NotFound):
            await missing_one


def _stored() -> StoredChannel:
    now = datetime.now(UTC)
    return StoredChannel(
        id=uuid4(), org_id=ORG, kind="slack", name="ops", enabled=True, config={}, rules=(),
        rate=RateLimit(per_second=1, burst=1), secret_hints={}, created_at=now, updated_at=now,
    )  # fmt: skip


async def _test(store: Channels, taken: int = 1, factory: Any = None) -> Any:
    async def take(wanted: Any) -> dict[str, tuple[float, int]]:
        return {key: (0.0 if taken else 30.0, taken) for key in wanted}

    return await channel_test.send_channel_test(
        uuid4(), org_id=ORG, channels=store, take=take, factory=factory,
        renderer=RENDERER, timeout_s=5.0,
    )  # fmt: skip


async def test_a_channel_test_refuses_unreadable_secrets_and_a_full_rate_limit() -> None:
    with pytest.raises(Conflict) as unreadable:
        await _test(Channels(SecretsUnreadable("x")))
    assert unreadable.value.code == "CHANNEL_SECRETS_UNREADABLE"
    with pytest.raises(NotFound):
        await _test(Channels())
    with pytest.raises(TooMany) as limited:
        await _test(Channels(found=(_stored(), SLACK)), taken=0)
    assert limited.value.code == "CHANNEL_RATE_LIMITED"
    assert limited.value.retry_after_s == int(limited.value.details["retry_after_s"]) > 0


async def test_a_channel_test_reports_what_the_server_said(make_channel: Any) -> None:
    down = make_channel("slack", errors=[TransientError("503 from Slack")])

    class Factory:
        def build(self, *_: Any) -> Any:
            return down

    result = await _test(Channels(found=(_stored(), SLACK)), factory=Factory())
    assert (result.status, result.error, result.retryable) == ("failed", "503 from Slack", True)
    result = await _test(Channels(found=(_stored(), SLACK)), factory=Factory())
    assert result.status == "sent" and result.reference.startswith("test-")
