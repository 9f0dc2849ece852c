"""Handlers with fakes: one delivery per (event, channel); each send recorded by outcome."""

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from notifier.domain.delivery import Delivery, PermanentError, RetryPolicy, TransientError
from notifier.domain.samples import threshold_crossed
from notifier.handlers import deliver, handle_threshold_crossed
from notifier.messages import Renderer
from rex_shared.consumer import Received

POLICY = RetryPolicy(max_attempts=3, base_s=1.0, max_s=10.0, jitter=0.0)
RENDERER = Renderer(dashboard_url="https://rex.example.com")


def _received(event_id: str | None = None) -> Received[Any]:
    return Received(event_id or str(uuid4()), threshold_crossed(kind="actual", severity="warning"))


async def _planned(store: Any, channels: list[Any], count: int = 1) -> list[Delivery]:
    await handle_threshold_crossed(
        [_received() for _ in range(count)], store=store, channels=channels
    )
    claimed: list[Delivery] = await store.claim(limit=100, lease_s=60, channel_keys=())
    return claimed


async def test_each_event_gets_one_delivery_per_channel(
    store: Any, make_channel: Callable[..., Any]
) -> None:
    channels = [make_channel("email"), make_channel("slack")]
    batch = [_received("e-1"), _received("e-2")]
    await handle_threshold_crossed(batch, store=store, channels=channels)
    assert sorted(store.rows) == sorted((e, c.key) for e in ("e-1", "e-2") for c in channels)
    row = store.rows[("e-1", channels[1].key)]
    assert (row.channel_kind, row.org_id, row.event_type) == (
        "slack", "org-sample", "budget.threshold.crossed"
    )  # fmt: skip
    assert row.payload["budget_name"] == "RAG evaluations (sample)"


async def test_a_redelivered_event_plans_nothing_new(
    store: Any, make_channel: Callable[..., Any]
) -> None:
    channels = [make_channel("email")]
    for _ in range(3):
        await handle_threshold_crossed([_received("same")], store=store, channels=channels)
    assert len(store.rows) == 1


async def test_a_successful_send_is_marked_sent_with_the_delivery_as_reference(
    store: Any, make_channel: Callable[..., Any]
) -> None:
    channel = make_channel("email")
    [delivery] = await _planned(store, [channel])
    status = await deliver(
        delivery, store=store, channels={channel.key: channel}, renderer=RENDERER, policy=POLICY
    )
    assert status == "sent"
    assert channel.sent[0].reference == str(delivery.id)
    assert "RAG evaluations (sample)" in channel.sent[0].subject


@pytest.mark.parametrize(
    ("error", "attempts_before", "status"),
    [
        (TransientError("down"), 0, "failed"),
        (TransientError("down"), 2, "dead"),  # the third attempt was the last
        (PermanentError("HTTP 400"), 0, "dead"),
        (RuntimeError("adapter bug"), 0, "failed"),
    ],
)
async def test_a_failed_send_is_retried_or_dead(
    store: Any,
    make_channel: Callable[..., Any],
    error: Exception,
    attempts_before: int,
    status: str,
) -> None:
    channel = make_channel("slack", [error])
    [delivery] = await _planned(store, [channel])
    delivery = type(delivery)(**{**vars(delivery), "attempts": attempts_before + 1})
    result = await deliver(
        delivery, store=store, channels={channel.key: channel}, renderer=RENDERER, policy=POLICY
    )
    assert result == status
    assert store.outcomes[-1][0] == status
    assert channel.sent == []


async def test_a_channel_no_longer_configured_is_dead(
    store: Any, make_channel: Callable[..., Any]
) -> None:
    [delivery] = await _planned(store, [make_channel("slack")])
    result = await deliver(delivery, store=store, channels={}, renderer=RENDERER, policy=POLICY)
    assert result == "dead"
    assert "not configured" in str(store.outcomes[-1][1].error)


async def test_stored_data_that_no_longer_validates_is_dead(
    store: Any, make_channel: Callable[..., Any]
) -> None:
    channel = make_channel("email")
    [delivery] = await _planned(store, [channel])
    broken = type(delivery)(**{**vars(delivery), "payload": {"budget_name": "x"}})
    result = await deliver(
        broken, store=store, channels={channel.key: channel}, renderer=RENDERER, policy=POLICY
    )
    assert result == "dead"


async def test_an_event_type_without_templates_is_dead(
    store: Any, make_channel: Callable[..., Any]
) -> None:
    channel = make_channel("email")
    [delivery] = await _planned(store, [channel])
    odd = type(delivery)(**{**vars(delivery), "event_type": "budget.period.closed"})
    result = await deliver(
        odd, store=store, channels={channel.key: channel}, renderer=RENDERER, policy=POLICY
    )
    assert result == "dead"
