"""Calls tracked from any code reach Kafka through the evaluator's outbox, durably or
batched."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rex_shared import topics
from rex_shared.events import LlmCallCompleted
from rex_tracking import BufferedOutboxSink, OutboxSink, Payer, Stopwatch, TrackedCall, build_event

Fixture = Callable[..., Any]


class _Reply:
    """An SDK-like OpenAI chat completion."""

    model = "gpt-4o-mini-2024-07-18"
    object = "chat.completion"
    service_tier = "default"
    _request_id = "req_1"

    class usage:
        @staticmethod
        def model_dump(mode: str) -> dict[str, Any]:
            return {"prompt_tokens": 120, "completion_tokens": 30,
                    "prompt_tokens_details": {"cached_tokens": 64}}  # fmt: skip


def _event(org: str) -> LlmCallCompleted:
    call = TrackedCall()
    call.record(_Reply())
    return build_event(call, clock=Stopwatch(), payer=Payer(org, "p", "u"), model="gpt-4o-mini",
                       provider=None, metric="app")  # fmt: skip


async def test_durable_and_buffered_sinks_publish_every_event_once(
    evaluator: Any, tail: Fixture, org: str
) -> None:
    calls = await tail(topics.LLM_CALL_COMPLETED)
    pool = evaluator.app.state.runtime.pool
    durable, buffered = OutboxSink(pool), BufferedOutboxSink(pool, interval_s=0.05)
    events = [_event(org) for _ in range(6)]
    for event in events[:3]:
        await durable.emit(event)
    for event in events[3:]:
        await buffered.emit(event)
    await buffered.close()
    got = await calls.read(lambda r: org.encode() in (r.value or b""), count=6, settle=0.5)
    published = [LlmCallCompleted.model_validate_json(r.value) for r in got]
    assert sorted(str(e.call_id) for e in published) == sorted(str(e.call_id) for e in events)
    first = published[0]
    assert (first.usage.input_tokens, first.usage.cache_read_tokens) == (120, 64)
    assert (first.metric, first.api, first.requested_model) == ("app", "chat.completions",
                                                                 "gpt-4o-mini")  # fmt: skip
    assert first.completed_at <= datetime.now(UTC)
