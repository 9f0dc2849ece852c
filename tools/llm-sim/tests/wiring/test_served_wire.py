"""`GET /_sim/served`: every call the simulator answered, through the official SDKs, with the
tokens each reply reported; injected faults counted apart; `DELETE` starts afresh."""

from typing import Any

import anthropic
import httpx2
import openai
import pytest
from fastapi import FastAPI

IDS = {"x-rex-evaluation-id": "eval-1", "x-rex-call-id": "call-1"}


async def _served(app: FastAPI, evaluation_id: str | None = None) -> dict[str, Any]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim") as client:
        params = {"evaluation_id": evaluation_id} if evaluation_id else {}
        reply = await client.get("/_sim/served", params=params)
        assert reply.status_code == 200
        body: dict[str, Any] = reply.json()
        return body


async def _openai(client: openai.AsyncOpenAI, stream: bool, system: str) -> dict[str, Any]:
    messages: Any = [{"role": "system", "content": system}, {"role": "user", "content": "Hi."}]
    if not stream:
        reply = await client.chat.completions.create(
            model="o4-mini", messages=messages, extra_headers=IDS
        )
        assert reply.usage
        return reply.usage.model_dump()
    chunks = await client.chat.completions.create(
        model="o4-mini",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=IDS,
    )
    usage: dict[str, Any] = {}
    async for chunk in chunks:
        usage = chunk.usage.model_dump() if chunk.usage else usage
    return usage


@pytest.mark.parametrize("stream", [False, True])
async def test_openai_calls_are_counted_with_the_usage_they_reported(
    openai_client: openai.AsyncOpenAI, sim_app: FastAPI, long_text: str, stream: bool
) -> None:
    first = await _openai(openai_client, stream, long_text)
    second = await _openai(openai_client, stream, long_text)  # reads the cached prefix
    calls = (await _served(sim_app, "eval-1"))["calls"]
    assert len(calls) == 2
    for usage, call in zip((first, second), calls, strict=True):
        assert call["call_id"] == "call-1" and call["streamed"] is stream
        assert (call["provider"], call["api"], call["status"]) == (
            "openai",
            "chat.completions",
            200,
        )
        assert call["model"] == "o4-mini-2025-04-16"
        assert call["input_tokens"] == usage["prompt_tokens"]
        assert call["cache_read_tokens"] == usage["prompt_tokens_details"]["cached_tokens"]
        assert call["output_tokens"] == usage["completion_tokens"]
        assert call["reasoning_tokens"] == usage["completion_tokens_details"]["reasoning_tokens"]
    assert calls[0]["cache_read_tokens"] == 0 < calls[1]["cache_read_tokens"]
    assert calls[0]["reasoning_tokens"] > 0


@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_calls_are_counted_with_cache_writes_and_reads_inside_input(
    anthropic_client: anthropic.AsyncAnthropic, sim_app: FastAPI, long_text: str, stream: bool
) -> None:
    system: Any = [{"type": "text", "text": long_text, "cache_control": {"type": "ephemeral"}}]
    args: Any = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 2000,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "system": system,
        "messages": [{"role": "user", "content": "Hi."}],
        "extra_headers": IDS,
    }
    usages = []
    for _ in range(2):
        if stream:
            async with anthropic_client.messages.stream(**args) as events:
                usages.append((await events.get_final_message()).usage)
        else:
            usages.append((await anthropic_client.messages.create(**args)).usage)
    calls = (await _served(sim_app, "eval-1"))["calls"]
    assert [(c["provider"], c["api"], c["streamed"]) for c in calls] == [
        ("anthropic", "messages", stream)
    ] * 2
    for usage, call in zip(usages, calls, strict=True):
        read, written = usage.cache_read_input_tokens or 0, usage.cache_creation_input_tokens or 0
        assert call["input_tokens"] == usage.input_tokens + read + written
        assert (call["cache_read_tokens"], call["cache_write_tokens"]) == (read, written)
        assert call["output_tokens"] == usage.output_tokens
        assert call["model"] == "claude-sonnet-4-6"
        assert 0 < call["reasoning_tokens"] < call["output_tokens"]
    assert calls[0]["cache_write_tokens"] == calls[1]["cache_read_tokens"] > 0


async def test_injected_faults_are_counted_apart_and_one_evaluation_alone(
    openai_client: openai.AsyncOpenAI, sim_app: FastAPI
) -> None:
    messages: Any = [{"role": "user", "content": "Hello [sim:fail:503:2]"}]
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=messages, extra_headers=IDS
            )
    await openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, extra_headers=IDS
    )
    await openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "no ids"}]
    )
    mine = await _served(sim_app, "eval-1")
    assert mine["billable"]["calls"] == 1 and mine["billable"]["input_tokens"] > 0
    assert mine["faulted"] == {"calls": 2, "by_status": {"503": 2}}
    assert [c["status"] for c in mine["calls"]] == [503, 503, 200]
    assert [c["input_tokens"] for c in mine["calls"][:2]] == [0, 0]
    everyone = await _served(sim_app)
    assert everyone["billable"]["calls"] == 2
    assert everyone["calls"][-1]["evaluation_id"] is None


async def test_delete_starts_the_count_afresh(
    openai_client: openai.AsyncOpenAI, sim_app: FastAPI
) -> None:
    await openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], extra_headers=IDS
    )
    assert (await _served(sim_app))["billable"]["calls"] == 1
    transport = httpx2.ASGITransport(app=sim_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim") as client:
        assert (await client.delete("/_sim/served")).status_code == 204
    assert (await _served(sim_app))["calls"] == []
