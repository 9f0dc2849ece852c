"""`@track_llm_cost` and `track_call` around the official SDKs: one exact event per call."""

from collections.abc import AsyncIterator

import anthropic
import httpx2
import openai
import pytest
from fastapi import FastAPI
from rex_tracking import (
    MemorySink,
    Payer,
    paying,
    set_default_sink,
    track_call,
    track_llm_cost,
)

PAYER = Payer(org_id="acme", project_id="search", user_id="alice")


@pytest.fixture
async def sdks(
    sim_app: FastAPI,
) -> AsyncIterator[tuple[openai.AsyncOpenAI, anthropic.AsyncAnthropic]]:
    def http() -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=sim_app), base_url="http://sim"
        )

    oa = openai.AsyncOpenAI(
        base_url="http://sim/v1", api_key="k", max_retries=0, http_client=http()
    )
    an = anthropic.AsyncAnthropic(
        base_url="http://sim", api_key="k", max_retries=0, http_client=http()
    )
    yield oa, an
    await oa.close()
    await an.close()


async def test_the_decorator_records_one_event_with_the_replys_exact_usage(
    sdks: tuple[openai.AsyncOpenAI, anthropic.AsyncAnthropic],
) -> None:
    sink = MemorySink()
    set_default_sink(sink)
    oa, _ = sdks

    @track_llm_cost(metric_name="summarize")
    async def summarize(text: str, model: str = "gpt-4o-mini") -> object:
        return await oa.chat.completions.create(
            model=model, messages=[{"role": "user", "content": text}]
        )

    with paying(PAYER):
        reply = await summarize("Summarize this.", model="gpt-4o-mini")
    [event] = sink.events
    assert reply.usage is not None  # type: ignore[attr-defined]
    assert event.usage.input_tokens == reply.usage.prompt_tokens  # type: ignore[attr-defined]
    assert event.usage.output_tokens == reply.usage.completion_tokens  # type: ignore[attr-defined]
    assert (event.org_id, event.project_id, event.user_id) == ("acme", "search", "alice")
    assert (event.metric, event.provider, event.api) == ("summarize", "openai", "chat.completions")
    assert (event.requested_model, event.model) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert event.status == "succeeded" and event.raw_usage


async def test_a_call_that_raises_is_recorded_as_failed_and_re_raised(
    sdks: tuple[openai.AsyncOpenAI, anthropic.AsyncAnthropic],
) -> None:
    sink = MemorySink()
    _, an = sdks
    with pytest.raises(anthropic.InternalServerError):
        async with track_call(model="claude-sonnet-4-6", sink=sink, payer=PAYER) as call:
            call.record(
                await an.messages.create(
                    model="claude-sonnet-4-6",
                    max_tokens=50,
                    messages=[{"role": "user", "content": "boom [sim:fail:500]"}],
                )
            )
    [event] = sink.events
    assert (event.status, event.provider, event.api) == ("failed", "anthropic", "messages")
    assert event.usage.input_tokens == 0 and event.error and "InternalServerError" in event.error


async def test_the_context_manager_reads_anthropic_usage_with_its_cache_parts(
    sdks: tuple[openai.AsyncOpenAI, anthropic.AsyncAnthropic],
) -> None:
    sink = MemorySink()
    _, an = sdks
    system = [{"type": "text", "text": "rule " * 1500, "cache_control": {"type": "ephemeral"}}]
    for _ in range(2):
        async with track_call(model="claude-sonnet-4-6", sink=sink, payer=PAYER) as call:
            call.record(
                await an.messages.create(
                    model="claude-sonnet-4-6",
                    max_tokens=50,
                    system=system,  # type: ignore[arg-type]
                    messages=[{"role": "user", "content": "hi"}],
                )
            )
    write, read = sink.events
    assert (
        write.usage.cache_write_tokens > 0
        and read.usage.cache_read_tokens == write.usage.cache_write_tokens
    )
    assert read.usage.input_tokens == write.usage.input_tokens


async def test_tracking_without_a_payer_is_refused() -> None:
    with pytest.raises(RuntimeError, match="no payer"):
        async with track_call(model="m", sink=MemorySink()):
            pass
