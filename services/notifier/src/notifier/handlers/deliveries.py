"""Use cases of the pipeline: plan deliveries from incoming events, send a claimed one."""

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import replace

from prometheus_client import Counter
from rex_shared.consumer import Received
from rex_shared.events import Contract

from notifier.domain.delivery import (
    Delivery,
    DeliveryError,
    PermanentError,
    RetryPolicy,
    TransientError,
    after_failure,
)
from notifier.domain.message import UnknownEventType
from notifier.domain.routing import Target, delivered, facts_of, route
from notifier.ports import (
    ChannelDirectory,
    ChannelResolver,
    DeliveryStore,
    MessageRenderer,
    NewDelivery,
)

log = logging.getLogger(__name__)

DELIVERIES = Counter(
    "rex_notifier_deliveries_total",
    "Delivery attempts by outcome (sent, failed = will retry, dead = given up)",
    ["channel_kind", "outcome"],
)


async def plan_deliveries(
    batch: Sequence[Received[Contract]],
    *,
    event_type: str,
    store: DeliveryStore,
    directory: ChannelDirectory,
    defaults: Sequence[Target],
) -> None:
    """One delivery per (event, routed channel); the worker sends them."""
    facts = [(r, facts_of(event_type, r.event)) for r in batch if delivered(event_type, r.event)]
    owned = await directory.targets(sorted({f.org_id for _, f in facts}))
    await store.add(
        [
            NewDelivery(
                event_id=received.event_id,
                event_type=event_type,
                org_id=fact.org_id,
                channel_key=target.key,
                channel_kind=target.kind,
                payload=received.event.model_dump(mode="json"),
                channel_id=target.channel_id,
            )
            for received, fact in facts
            for target in route(fact, owned.get(fact.org_id, []), defaults)
        ]
    )


async def deliver(
    delivery: Delivery,
    *,
    store: DeliveryStore,
    channels: ChannelResolver,
    renderer: MessageRenderer,
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
            extra={"org_id": delivery.org_id, "event_id": delivery.event_id},
        )
        await store.mark_failed(delivery, outcome)
        DELIVERIES.labels(delivery.channel_kind, outcome.status).inc()
        return outcome.status
    await store.mark_sent(delivery)
    DELIVERIES.labels(delivery.channel_kind, "sent").inc()
    return "sent"


async def _send(
    delivery: Delivery, *, channels: ChannelResolver, renderer: MessageRenderer
) -> None:
    resolved = await channels.resolve(delivery)
    if resolved is None:
        raise PermanentError(f"channel {delivery.channel_key} is not configured")
    try:
        message = renderer.render(delivery.event_type, delivery.payload, kind=delivery.channel_kind)
        await resolved.channel.send(
            replace(message, reference=str(delivery.id), event_id=delivery.event_id)
        )
    except DeliveryError:
        raise
    except UnknownEventType as exc:
        raise PermanentError(f"no templates for {exc}") from exc
    except Exception as exc:  # a template or adapter bug: retry (bounded) so a fix can catch up
        log.exception("unexpected error sending delivery %s", delivery.id)
        raise TransientError(f"unexpected {type(exc).__name__}") from None
