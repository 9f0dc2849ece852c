"""The SDK adapters turn each simulator reply into an exact llm.call.completed event."""

from uuid import uuid4

import pytest
from evaluator.adapters.llm_anthropic import AnthropicMessages
from evaluator.adapters.llm_openai import OpenAiChat
from evaluator.adapters.retry import Retrier
from evaluator.domain.backoff import RetryPolicy
from evaluator.ports import ChatRequest, LlmClient
from rex_tracking import CallContext

LONG_SYSTEM = "You are a judge. " + " ".join(f"Rule {i}: be exact and fair." for i in range(300))


def _ctx(org: str) -> CallContext:
    return CallContext(
        call_id=uuid4(),
        org_id=org,
        project_id="p",
        user_id="u",
        evaluation_id=uuid4(),
        metric="faithfulness",
    )


async def test_an_openai_call_yields_its_event_with_cached_tokens_on_repeat(
    sim_clients: dict[str, LlmClient], org: str
) -> None:
    client = sim_clients["openai"]
    request = ChatRequest("gpt-4o-mini", LONG_SYSTEM, "Hello.")
    first = await client.complete(request, _ctx(org))
    ctx = _ctx(org)
    second = await client.complete(request, ctx)
    event = second.event
    assert second.text and event.status == "succeeded"
    assert (event.call_id, event.org_id, event.metric) == (ctx.call_id, org, "faithfulness")
    assert (event.provider, event.api) == ("openai", "chat.completions")
    assert (event.requested_model, event.model) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert event.raw_usage is not None and first.event.raw_usage is not None
    assert event.usage.input_tokens == event.raw_usage["prompt_tokens"]
    assert first.event.usage.cache_read_tokens == 0
    assert (
        event.usage.cache_read_tokens
        == event.raw_usage["prompt_tokens_details"]["cached_tokens"]
        > 0
    )
    assert event.usage.output_tokens == event.raw_usage["completion_tokens"]
    assert event.service_tier == "default"
    assert event.provider_request_id and event.provider_request_id.startswith("req_")
    assert event.completed_at >= event.started_at and event.latency_ms >= 0


async def test_a_reasoning_model_reports_reasoning_inside_output(
    sim_clients: dict[str, LlmClient], org: str
) -> None:
    reply = await sim_clients["openai"].complete(ChatRequest("o4-mini", "s", "u"), _ctx(org))
    usage = reply.event.usage
    assert 0 < usage.reasoning_tokens < usage.output_tokens


async def test_a_failed_call_still_yields_an_event_with_zero_usage(
    sim_clients: dict[str, LlmClient], org: str
) -> None:
    reply = await sim_clients["openai"].complete(
        ChatRequest("gpt-4o-mini", "s", "please [sim:fail:500]"), _ctx(org)
    )
    event = reply.event
    assert reply.text is None
    assert event.status == "failed" and event.error and "InternalServerError" in event.error
    assert event.usage.input_tokens == 0 and event.raw_usage is None
    assert event.model == "gpt-4o-mini" and event.provider_request_id


async def test_an_anthropic_call_counts_cache_writes_and_reads_inside_input(
    sim_clients: dict[str, LlmClient], org: str
) -> None:
    client = sim_clients["anthropic"]
    request = ChatRequest("claude-sonnet-4-6", LONG_SYSTEM, "Hello.")
    write = (await client.complete(request, _ctx(org))).event
    read = (await client.complete(request, _ctx(org))).event
    assert write.api == "messages" and write.provider == "anthropic"
    assert write.raw_usage is not None and read.raw_usage is not None
    assert write.usage.cache_write_tokens == write.raw_usage["cache_creation_input_tokens"] > 0
    assert write.usage.input_tokens == (
        write.raw_usage["input_tokens"] + write.usage.cache_write_tokens
    )
    assert read.usage.cache_read_tokens == write.usage.cache_write_tokens
    assert read.usage.input_tokens == write.usage.input_tokens
    assert read.usage.uncached_input_tokens == read.raw_usage["input_tokens"]
    assert write.service_tier == "standard"


def _streaming(clients: dict[str, LlmClient], provider: str, **kw: object) -> LlmClient:
    inner = clients[provider]
    kind = type(inner)
    return kind(inner._sdk, stream=True, **kw)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("provider", "model"), [("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-6")]
)
async def test_a_streamed_call_reports_the_same_exact_usage_as_a_plain_one(
    sim_clients: dict[str, LlmClient], org: str, provider: str, model: str
) -> None:
    request = ChatRequest(
        model, LONG_SYSTEM, "Tell me. [rex:faithfulness:claims] <answer>A. B.</answer>"
    )
    plain = await sim_clients[provider].complete(request, _ctx(org))
    streamed = await _streaming(sim_clients, provider).complete(request, _ctx(org))
    assert streamed.text == plain.text and streamed.event.status == "succeeded"
    assert streamed.event.raw_usage is not None
    # The second call reads what the first wrote into the prompt cache: outputs and totals
    # match, and the streamed usage still maps exactly.
    assert streamed.event.usage.input_tokens == plain.event.usage.input_tokens
    assert streamed.event.usage.output_tokens == plain.event.usage.output_tokens
    assert streamed.event.usage.cache_read_tokens > 0
    assert streamed.event.model == plain.event.model
    assert streamed.event.provider_request_id


async def test_retries_honour_retry_after_and_the_call_keeps_one_event(
    sim_clients: dict[str, LlmClient], org: str
) -> None:
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    retrier = Retrier(RetryPolicy(max_retries=2), sleep=sleep, rand=lambda: 0.0)
    inner = sim_clients["openai"]
    client = OpenAiChat(inner._sdk, retrier=retrier)  # type: ignore[attr-defined]
    reply = await client.complete(ChatRequest("gpt-4o-mini", "s", "hi [sim:fail:429:2]"), _ctx(org))
    assert reply.event.status == "succeeded" and reply.text
    assert waits == [1.0, 1.0]  # the simulator's Retry-After: 1


async def test_retries_spent_leave_one_failed_event(
    sim_clients: dict[str, LlmClient], org: str
) -> None:
    async def sleep(s: float) -> None:
        return None

    retrier = Retrier(RetryPolicy(max_retries=1), sleep=sleep)
    inner = sim_clients["anthropic"]
    client = AnthropicMessages(inner._sdk, retrier=retrier)  # type: ignore[attr-defined]
    reply = await client.complete(
        ChatRequest("claude-sonnet-4-6", "s", "hi [sim:fail:503:5]"), _ctx(org)
    )
    assert reply.text is None and reply.event.status == "failed"
    assert reply.event.error and "503" in reply.event.error


async def test_the_event_names_the_row_it_judged(
    sim_clients: dict[str, LlmClient], org: str
) -> None:
    ctx = CallContext(uuid4(), org, "p", "u", uuid4(), "faithfulness", row_index=7)
    reply = await sim_clients["openai"].complete(ChatRequest("gpt-4o-mini", "s", "u"), ctx)
    assert reply.event.row_index == 7
