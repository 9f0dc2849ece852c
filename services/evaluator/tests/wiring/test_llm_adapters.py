"""The SDK adapters turn each simulator reply into an exact llm.call.completed event."""

from uuid import uuid4

from evaluator.ports import CallContext, ChatRequest, LlmClient

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
