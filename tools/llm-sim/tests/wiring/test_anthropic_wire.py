"""The official anthropic SDK parses the simulator's replies, usage included."""

import json

import anthropic
import httpx2
import pytest
from anthropic.types import TextBlock
from fastapi import FastAPI


def _system(text: str, ttl: str | None = None) -> list[anthropic.types.TextBlockParam]:
    if ttl is None:
        return [{"type": "text", "text": text}]
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral", "ttl": ttl}}]


async def test_input_tokens_exclude_cache_writes_and_reads(
    anthropic_client: anthropic.AsyncAnthropic, long_text: str
) -> None:
    async def ask(question: str) -> anthropic.types.Message:
        return await anthropic_client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=200,
            system=_system(long_text, "5m"),
            messages=[{"role": "user", "content": question}],
        )

    first, second = await ask("One?"), await ask("Another one?")
    assert first.model == "claude-sonnet-4-6"  # no dated alias known: echoed
    written = first.usage.cache_creation_input_tokens or 0
    assert written > 1024 and first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == written
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == 0
    assert second.usage.cache_read_input_tokens == written
    assert second.usage.cache_creation_input_tokens == 0
    assert 0 < first.usage.input_tokens < 20  # only the uncached tail: the question
    assert first._request_id and first._request_id.startswith("req_")


async def test_one_hour_breakpoints_are_reported_as_1h_writes(
    anthropic_client: anthropic.AsyncAnthropic, long_text: str
) -> None:
    reply = await anthropic_client.messages.create(
        model="claude-opus-4-1",
        max_tokens=50,
        system=_system(long_text, "1h"),
        messages=[{"role": "user", "content": "Hi."}],
    )
    assert reply.usage.cache_creation is not None
    assert reply.usage.cache_creation.ephemeral_1h_input_tokens == (
        reply.usage.cache_creation_input_tokens
    )
    assert reply.usage.cache_creation.ephemeral_5m_input_tokens == 0


async def test_without_cache_control_nothing_is_cached(
    anthropic_client: anthropic.AsyncAnthropic, long_text: str
) -> None:
    for _ in range(2):
        reply = await anthropic_client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=50,
            system=_system(long_text),
            messages=[{"role": "user", "content": "Hi."}],
        )
        assert reply.usage.cache_read_input_tokens == 0
        assert reply.usage.cache_creation_input_tokens == 0
        assert reply.usage.input_tokens > 1024


async def test_judge_prompts_get_json_answers(anthropic_client: anthropic.AsyncAnthropic) -> None:
    reply = await anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=500,
        system="[rex:faithfulness:claims]",
        messages=[{"role": "user", "content": "<answer>Rome is old. Rome is big.</answer>"}],
    )
    block = reply.content[0]
    assert isinstance(block, TextBlock)
    assert json.loads(block.text) == {"claims": ["Rome is old.", "Rome is big."]}


async def test_thinking_tokens_are_part_of_output_tokens(
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    reply = await anthropic_client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "Think hard."}],
    )
    assert reply.usage.output_tokens_details is not None
    thinking = reply.usage.output_tokens_details.thinking_tokens
    assert 0 < thinking < reply.usage.output_tokens


async def test_streaming_ends_with_the_full_usage(
    anthropic_client: anthropic.AsyncAnthropic, long_text: str
) -> None:
    async with anthropic_client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=100,
        system=_system(long_text + " stream", "5m"),
        messages=[{"role": "user", "content": "Stream."}],
    ) as stream:
        final = await stream.get_final_message()
    assert final.usage.cache_creation_input_tokens and final.usage.output_tokens > 1
    block = final.content[0]
    assert isinstance(block, TextBlock) and block.text.startswith("This is a simulated reply")


@pytest.mark.parametrize(
    ("status", "error"), [(429, anthropic.RateLimitError), (500, anthropic.InternalServerError)]
)
async def test_a_header_asks_for_an_error(
    anthropic_client: anthropic.AsyncAnthropic, status: int, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        await anthropic_client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=10,
            messages=[{"role": "user", "content": "x"}],
            extra_headers={"x-sim-fail": str(status), "x-sim-retry-after": "3"},
        )
    assert isinstance(caught.value, anthropic.APIStatusError)
    assert caught.value.request_id
    if status == 429:
        assert caught.value.response.headers["retry-after"] == "3"


async def test_max_tokens_is_required(sim_app: FastAPI) -> None:
    transport = httpx2.ASGITransport(app=sim_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim") as http:
        body = {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "x"}]}
        reply = await http.post("/v1/messages", json=body, headers={"x-api-key": "k"})
    assert reply.status_code == 400
    assert reply.json()["error"]["type"] == "invalid_request_error"
