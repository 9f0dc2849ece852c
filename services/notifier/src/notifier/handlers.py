"""Use cases: plan deliveries for incoming events, send one claimed delivery."""

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from prometheus_client import Counter
from rex_shared import topics
from rex_shared.consumer import Received
from rex_shared.events import BudgetThresholdCrossed

from notifier.domain.delivery import (
    Delivery,
    DeliveryError,
    PermanentError,
    RetryPolicy,
    TransientError,
    after_failure,
)
from notifier.messages import Renderer, UnknownEventType
from notifier.ports import Channel, DeliveryStore, NewDelivery

log = logging.getLogger(__name__)

DELIVERIES = Counter(
    "rex_notifier_deliveries_total", "Delivery attempts by outcome", ["channel_kind", "outcome"]
)


async def handle_threshold_crossed(
    batch: Sequence[Received[BudgetThresholdCrossed]],
    *,
    store: DeliveryStore,
    channels: Sequence[Channel],
) -> None:
    """Plan one delivery per (event, channel); the worker sends them."""
    await store.add(
        [
            NewDelivery(
                event_id=received.event_id,
                event_type=topics.BUDGET_THRESHOLD_CROSSED,
                org_id=received.event.org_id,
                channel_key=channel.key,
                channel_kind=channel.kind,
                payload=received.event.model_dump(mode="json"),
            )
            for received in batch
            for channel in channels
        ]
    )


async def deliver(
    delivery: Delivery,
    *,
    store: DeliveryStore,
    channels: Mapping[str, Channel],
    renderer: Renderer,
    policy: RetryPolicy,
    rand: Callable[[], float] = random.random,
) -> str:
    """Render and send one claimed delivery, then record it sent, failed or dead."""
    try:
        await _send(delivery, channels=channels, renderer=renderer)
    except DeliveryError as exc:
        outcome = after_failure(exc, attempts=delivery.attempts, policy=policy, rand=rand())
        log.warning(
            "delivery %s to %s %s: %s",
            delivery.id,
            delivery.channel_key,
            outcome.status,
            outcome.error,
        )
        await store.mark_failed(delivery, outcome)
        DELIVERIES.labels(delivery.channel_kind, outcome.status).inc()
        return outcome.status
    await store.mark_sent(delivery)
    DELIVERIES.labels(delivery.channel_kind, "sent").inc()
    return "sent"


async def _send(delivery: Delivery, *, channels: Mapping[str, Channel], renderer: Renderer) -> None:
    channel = channels.get(delivery.channel_key)
    if channel is None:
        raise PermanentError(f"channel {delivery.channel_key} is not configured")
    try:
        message = renderer.render(delivery.event_type, delivery.payload)
        await channel.send(replace(message, reference=str(delivery.id)))
    except DeliveryError:
        raise
    except UnknownEventType as exc:
        raise PermanentError(f"no templates for {exc}") from exc
    except Exception as exc:  # a template or adapter bug: retry (bounded) so a fix can catch up
        log.exception("unexpected error sending delivery %s", delivery.id)
        raise TransientError(f"unexpected {type(exc).__name__}: {exc}") from exc
