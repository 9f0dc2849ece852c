"""Use case of a channel test: a sample alert, marked as a test, sent at once."""

import asyncio
import math
from dataclasses import dataclass, replace
from typing import Literal
from uuid import UUID, uuid4

from rex_shared.errors import Conflict, NotFound, TooMany
from rex_shared.events import Contract

from notifier.domain.channels import StoredChannel
from notifier.domain.delivery import DeliveryError, TransientError
from notifier.domain.pacing import interval_s, slot_waits, takeable
from notifier.domain.samples import threshold_crossed
from notifier.ports import (
    Channel,
    ChannelBuilder,
    ChannelStore,
    MessageRenderer,
    SecretsUnreadable,
    SlotTaker,
)


@dataclass(frozen=True)
class ChannelTestResult:
    """What the channel's server said to a test message."""

    channel_id: UUID
    status: Literal["sent", "failed"]
    reference: str | None = None
    error: str | None = None
    retryable: bool | None = None


async def send_test(channel: Channel, *, renderer: MessageRenderer, sample: Contract) -> str:
    """Send `sample` marked as a test; returns the test message's reference."""
    reference = f"test-{uuid4()}"
    message = renderer.render_event(sample.topic, sample, test=True, kind=channel.kind)
    await channel.send(replace(message, reference=reference, event_id=reference))
    return reference


async def send_channel_test(
    channel_id: UUID,
    *,
    org_id: str,
    channels: ChannelStore,
    take: SlotTaker,
    factory: ChannelBuilder,
    renderer: MessageRenderer,
    timeout_s: float,
) -> ChannelTestResult:
    """Send a sample alert to one of the org's channels, within its rate limit."""
    try:
        found = await channels.with_secrets(org_id=org_id, channel_id=channel_id)
    except SecretsUnreadable:
        raise Conflict(
            "CHANNEL_SECRETS_UNREADABLE",
            "the channel's secrets do not decrypt with the configured REX_KEKS; set them again",
        ) from None
    if found is None:
        raise NotFound("channel")
    stored, secrets = found
    await _wait_for_pace(stored, take)
    sample = threshold_crossed(kind="actual", severity="info").model_copy(
        update={"org_id": org_id, "budget_name": "Test budget"}
    )
    try:
        channel = factory.build(stored, secrets)
        reference = await asyncio.wait_for(
            send_test(channel, renderer=renderer, sample=sample), timeout_s
        )
    except DeliveryError as exc:
        return _result(stored, error=str(exc), retryable=isinstance(exc, TransientError))
    except TimeoutError:
        return _result(stored, error=f"no answer within {timeout_s:g} s", retryable=True)
    return _result(stored, reference=reference)


def _result(
    stored: StoredChannel,
    *,
    reference: str | None = None,
    error: str | None = None,
    retryable: bool | None = None,
) -> ChannelTestResult:
    status: Literal["sent", "failed"] = "failed" if error else "sent"
    return ChannelTestResult(stored.id, status, reference, error, retryable)


async def _wait_for_pace(stored: StoredChannel, take: SlotTaker) -> None:
    """A test send takes a slot of the channel's rate limit; none within 2 s is refused."""
    rate, key = stored.rate, stored.key

    def one_if_soon(ahead_s: float) -> int:
        return takeable(rate, ahead_s=ahead_s, wanted=1, within_s=2.0)

    ahead, taken = (await take({key: (interval_s(rate), one_if_soon)}))[key]
    [wait] = slot_waits(rate, ahead_s=ahead, count=1)
    if not taken:
        retry = math.ceil(wait)
        raise TooMany(
            "CHANNEL_RATE_LIMITED",
            "the channel's rate limit is reached",
            {"retry_after_s": str(retry)},
            retry_after_s=retry,
        )
    await asyncio.sleep(wait)
