"""Cost tracking usable from any Python code: every LLM call becomes one `llm.call.completed`.

Teams send the cost of their own application's calls through the same pipeline as the
evaluator's judge calls (ledger -> budgets -> alerts):

    from rex_tracking import OutboxSink, Payer, paying, set_default_sink, track_llm_cost

    set_default_sink(OutboxSink(pool))          # or BufferedOutboxSink, KafkaSink, MemorySink

    @track_llm_cost(metric_name="summarize")
    async def summarize(text: str, model: str = "gpt-4o-mini"):
        return await openai_client.chat.completions.create(model=model, messages=[...])

    with paying(Payer(org_id="acme", project_id="search", user_id="alice")):
        await summarize("...")

or, around any call, the context manager:

    async with track_call(provider="anthropic", model="claude-haiku-4-5") as call:
        call.record(await anthropic_client.messages.create(...))

The decorated function must return the SDK's reply object (OpenAI ChatCompletion or Response,
Anthropic Message). A call that raises is recorded as failed (zero usage) and re-raised.
"""

from rex_tracking.calls import Requested, Response, Stopwatch, failed, reply_facts, succeeded
from rex_tracking.context import CallContext, Payer, current_payer, paying
from rex_tracking.decorator import TrackedCall, build_event, track_call, track_llm_cost
from rex_tracking.sinks import (
    DEFAULT_SCHEMA,
    DEFAULT_SOURCE,
    BufferedOutboxSink,
    CostSink,
    KafkaSink,
    MemorySink,
    OutboxSink,
    default_sink,
    outgoing,
    set_default_sink,
)

__all__ = [
    "DEFAULT_SCHEMA",
    "DEFAULT_SOURCE",
    "BufferedOutboxSink",
    "CallContext",
    "CostSink",
    "KafkaSink",
    "MemorySink",
    "OutboxSink",
    "Payer",
    "Requested",
    "Response",
    "Stopwatch",
    "TrackedCall",
    "build_event",
    "current_payer",
    "default_sink",
    "failed",
    "outgoing",
    "paying",
    "reply_facts",
    "set_default_sink",
    "succeeded",
    "track_call",
    "track_llm_cost",
]
