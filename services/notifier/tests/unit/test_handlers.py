"""Handlers with fakes: routing to deliveries, pacing, and each send recorded by outcome."""

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from notifier.adapters.renderer import Renderer
from notifier.domain.channels import Rule
from notifier.domain.delivery import Delivery, PermanentError, RetryPolicy, TransientError
from notifier.domain.routing import Target
from notifier.domain.samples import forecast_exceeded, period_closed, threshold_crossed
from notifier.handlers.channel_test import send_test
from notifier.handlers.deliveries import deliver, plan_deliveries
from rex_shared import topics
from rex_shared.consumer import Received

POLICY = RetryPolicy(max_attempts=3, base_s=1.0, max_s=10.0, jitter=0.0)
RENDERER = Renderer(dashboard_url="https://rex.example.com")
THRESHOLD = topics.BUDGET_THRESHOLD_CROSSED


def _received(event_id: str | None = None, **changes: Any) -> Received[Any]:
    event = threshold_crossed(kind="actual", severity="warning").model_copy(update=changes)
    return Received(event_id or str(uuid4()), event)


async def _plan(store: Any, fakes: Any, channels: list[Any], batch: list[Any], **kw: Any) -> None:
    directory = kw.pop("directory", fakes.Directory())
    event_type = kw.pop("event_type", THRESHOLD)
    await plan_deliveries(
        batch,
        event_type=event_type,
        store=store,
        directory=directory,
        defaults=fakes.targets(channels),
    )


async def _planned(store: Any, fakes: Any, channels: list[Any], count: int = 1) -> list[Delivery]:
    await _plan(store, fakes, channels, [_received() for _ in range(count)])
    claimed = await store.claim(limit=100, lease_s=60, channel_keys=())
    return [delivery for delivery, _ in claimed]


async def test_an_org_without_channels_gets_one_delivery_per_default_channel(
    store: Any, fakes: Any, make_channel: Callable[..., Any]
) -> None:
    channels = [make_channel("email"), make_channel("slack")]
    await _plan(store, fakes, channels, [_received("e-1"), _received("e-2")])
    assert sorted(store.rows) == sorted((e, c.key) for e in ("e-1", "e-2") for c in channels)
    row = store.rows[("e-1", channels[1].key)]
    assert (row.channel_kind, row.org_id, row.event_type, row.channel_id) == (
        "slack", "org-sample", THRESHOLD, None
    )  # fmt: skip
    assert row.payload["budget_name"] == "RAG evaluations (sample)"


async def test_an_org_with_channels_gets_only_those_its_rules_select(
    store: Any, fakes: Any, make_channel: Callable[..., Any]
) -> None:
    critical_only = Target("channel:a", "slack", uuid4(), rules=(Rule(min_severity="critical"),))
    everything = Target("channel:b", "email", uuid4())
    paused = Target("channel:c", "webhook", uuid4(), enabled=False)
    directory = fakes.Directory({"org-sample": [critical_only, everything, paused]})
    await _plan(store, fakes, [make_channel("email")], [_received("w")], directory=directory)
    await _plan(store, fakes, [], [_received("c", severity="critical")], directory=directory)
    assert sorted(store.rows) == [("c", "channel:a"), ("c", "channel:b"), ("w", "channel:b")]
    assert store.rows[("w", "channel:b")].channel_id == everything.channel_id


async def test_other_orgs_in_the_same_batch_keep_the_defaults(
    store: Any, fakes: Any, make_channel: Callable[..., Any]
) -> None:
    default = make_channel("email")
    directory = fakes.Directory({"org-a": [Target("channel:a", "slack", uuid4())]})
    batch = [_received("a", org_id="org-a"), _received("b", org_id="org-b")]
    await _plan(store, fakes, [default], batch, directory=directory)
    assert sorted(store.rows) == [("a", "channel:a"), ("b", default.key)]


async def test_a_redelivered_event_plans_nothing_new(
    store: Any, fakes: Any, make_channel: Callable[..., Any]
) -> None:
    channels = [make_channel("email")]
    for _ in range(3):
        await _plan(store, fakes, channels, [_received("same")])
    assert len(store.rows) == 1


@pytest.mark.parametrize("threshold_first", [True, False])
async def test_one_forecast_announced_on_both_topics_gives_one_delivery_per_channel(
    store: Any, fakes: Any, make_channel: Callable[..., Any], threshold_first: bool
) -> None:
    channels = [make_channel("email"), make_channel("webhook")]
    forecast = forecast_exceeded()
    crossed = threshold_crossed(kind="forecast", severity="info").model_copy(
        update={"alert_id": forecast.alert_id}
    )
    as_threshold = ([Received(str(crossed.alert_id), crossed)], THRESHOLD)
    as_forecast = ([Received("forecast-event", forecast)], topics.BUDGET_FORECAST_EXCEEDED)
    for batch, event_type in [as_threshold, as_forecast][:: 1 if threshold_first else -1]:
        await _plan(store, fakes, channels, batch, event_type=event_type)
    assert sorted(store.rows) == sorted(("forecast-event", c.key) for c in channels)
    assert {r.event_type for r in store.rows.values()} == {topics.BUDGET_FORECAST_EXCEEDED}


async def test_a_rule_naming_either_forecast_topic_gets_the_forecast(
    store: Any, fakes: Any
) -> None:
    def only(event_type: str) -> Target:
        rule = Rule(event_types=[event_type])
        return Target(f"channel:{event_type}", "email", uuid4(), rules=(rule,))

    named = [only(topics.BUDGET_THRESHOLD_CROSSED), only(topics.BUDGET_FORECAST_EXCEEDED)]
    period_only = only(topics.BUDGET_PERIOD_CLOSED)
    directory = fakes.Directory({"org-sample": [*named, period_only]})
    forecast = [Received("forecast-event", forecast_exceeded())]
    await _plan(store, fakes, [], forecast, directory=directory,
                event_type=topics.BUDGET_FORECAST_EXCEEDED)  # fmt: skip
    assert sorted(store.rows) == sorted(("forecast-event", t.key) for t in named)


async def test_a_successful_send_is_marked_sent_with_the_delivery_as_reference(
    store: Any, fakes: Any, make_channel: Callable[..., Any]
) -> None:
    channel = make_channel("email")
    [delivery] = await _planned(store, fakes, [channel])
    status = await deliver(
        delivery, store=store, channels=fakes.Registry([channel]), renderer=RENDERER, policy=POLICY
    )
    assert status == "sent"
    sent = channel.sent[0]
    assert (sent.reference, sent.event_id, sent.test) == (
        str(delivery.id),
        delivery.event_id,
        False,
    )
    assert "RAG evaluations (sample)" in sent.subject
    assert sent.data["budget_name"] == "RAG evaluations (sample)"


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
    fakes: Any,
    make_channel: Callable[..., Any],
    error: Exception,
    attempts_before: int,
    status: str,
) -> None:
    channel = make_channel("slack", [error])
    [delivery] = await _planned(store, fakes, [channel])
    delivery = type(delivery)(**{**vars(delivery), "attempts": attempts_before + 1})
    result = await deliver(
        delivery, store=store, channels=fakes.Registry([channel]), renderer=RENDERER, policy=POLICY
    )
    assert result == status
    assert store.outcomes[-1][0] == status
    assert channel.sent == []


async def test_a_channel_no_longer_configured_is_dead(
    store: Any, fakes: Any, make_channel: Callable[..., Any]
) -> None:
    [delivery] = await _planned(store, fakes, [make_channel("slack")])
    result = await deliver(
        delivery, store=store, channels=fakes.Registry([]), renderer=RENDERER, policy=POLICY
    )
    assert result == "dead"
    assert "not configured" in str(store.outcomes[-1][1].error)


@pytest.mark.parametrize(
    "change",
    [{"payload": {"budget_name": "x"}}, {"event_type": "budget.nonsense"}],
    ids=["data that no longer validates", "an event type without templates"],
)
async def test_a_delivery_that_cannot_render_is_dead(
    store: Any, fakes: Any, make_channel: Callable[..., Any], change: dict[str, Any]
) -> None:
    channel = make_channel("email")
    [delivery] = await _planned(store, fakes, [channel])
    broken = type(delivery)(**{**vars(delivery), **change})
    result = await deliver(
        broken, store=store, channels=fakes.Registry([channel]), renderer=RENDERER, policy=POLICY
    )
    assert result == "dead"


async def test_a_test_send_is_marked_as_a_test_in_what_each_kind_sends(
    make_channel: Callable[..., Any],
) -> None:
    email, slack, hook = (make_channel(k) for k in ("email", "slack", "webhook"))
    for channel in (email, slack, hook):
        reference = await send_test(channel, renderer=RENDERER, sample=period_closed())
        [message] = channel.sent
        assert message.test and message.reference == reference and reference.startswith("test-")
        assert message.subject.startswith("[TEST] ")
    assert "TEST MESSAGE" in email.sent[0].text and "TEST MESSAGE" in email.sent[0].html
    assert "TEST MESSAGE" in slack.sent[0].slack["blocks"][0]["text"]["text"]
    assert "TEST MESSAGE" in hook.sent[0].text
    assert (hook.sent[0].html, hook.sent[0].slack) == ("", {})  # only what a webhook sends


async def test_only_the_parts_a_channel_sends_are_rendered() -> None:
    data = threshold_crossed(kind="actual", severity="info").model_dump(mode="json")
    email = RENDERER.render(THRESHOLD, data, kind="email")
    slack = RENDERER.render(THRESHOLD, data, kind="slack")
    everything = RENDERER.render(THRESHOLD, data)
    assert email.text and email.html and email.slack == {}
    assert slack.slack and (slack.text, slack.html) == ("", "")
    assert (everything.text, everything.html, everything.slack) == (
        email.text, email.html, slack.slack
    )  # fmt: skip
