"""The official openai SDK parses the simulator's replies, usage included."""

import hashlib
import json
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from fastapi import FastAPI
from openai.types.chat import ChatCompletionMessageParam


def _messages(user: str, system: str = "Be brief.") -> list[ChatCompletionMessageParam]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


async def test_usage_is_inclusive_with_cached_tokens_as_a_subset(
    openai_client: openai.AsyncOpenAI, long_text: str
) -> None:
    first = await openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=_messages("Hello there.", long_text)
    )
    second = await openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=_messages("Something else.", long_text)
    )
    assert first.usage and second.usage
    assert first.model == "gpt-4o-mini-2024-07-18"
    assert first.usage.prompt_tokens_details and second.usage.prompt_tokens_details
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens or 0
    assert cached >= 1024 and cached % 128 == 0
    assert cached <= second.usage.prompt_tokens
    assert second.usage.total_tokens == second.usage.prompt_tokens + second.usage.completion_tokens


async def test_reasoning_models_report_reasoning_inside_completion_tokens(
    openai_client: openai.AsyncOpenAI,
) -> None:
    reply = await openai_client.chat.completions.create(
        model="o3-mini", messages=_messages("Think."), service_tier="flex"
    )
    assert reply.usage and reply.usage.completion_tokens_details
    reasoning = reply.usage.completion_tokens_details.reasoning_tokens or 0
    assert 0 < reasoning < reply.usage.completion_tokens
    assert reply.service_tier == "flex"
    assert reply.model == "o3-mini-2025-01-31"


async def test_other_models_spend_no_reasoning_and_unknown_names_are_echoed(
    openai_client: openai.AsyncOpenAI,
) -> None:
    reply = await openai_client.chat.completions.create(model="my-model", messages=_messages("x"))
    assert reply.model == "my-model"
    assert reply.service_tier == "default"
    assert reply.usage and reply.usage.completion_tokens_details
    assert reply.usage.completion_tokens_details.reasoning_tokens == 0
    assert reply._request_id and reply._request_id.startswith("req_")


async def test_max_tokens_cuts_the_reply(openai_client: openai.AsyncOpenAI) -> None:
    reply = await openai_client.chat.completions.create(
        model="gpt-4o", messages=_messages("A long story please."), max_tokens=3
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage and reply.usage.completion_tokens == 3


async def test_streaming_sends_usage_on_a_final_chunk_with_no_choices(
    openai_client: openai.AsyncOpenAI,
) -> None:
    stream = await openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=_messages("Stream me."),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("This is a simulated reply")
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


async def test_judge_prompts_get_json_answers(openai_client: openai.AsyncOpenAI) -> None:
    reply = await openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=_messages(
            "<answer>Water boils at 100 C. Ice is cold.</answer>", "[rex:faithfulness:claims]"
        ),
    )
    content = reply.choices[0].message.content or ""
    assert json.loads(content) == {"claims": ["Water boils at 100 C.", "Ice is cold."]}


@pytest.mark.parametrize(
    ("status", "error"), [(429, openai.RateLimitError), (500, openai.InternalServerError)]
)
async def test_a_header_asks_for_an_error(
    openai_client: openai.AsyncOpenAI, status: int, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        await openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=_messages("x"), extra_headers={"x-sim-fail": str(status)}
        )
    assert isinstance(caught.value, openai.APIStatusError)
    assert caught.value.request_id
    if status == 429:
        assert caught.value.response.headers["retry-after"] == "1"


async def test_a_marker_in_the_prompt_asks_for_an_error(openai_client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        await openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=_messages("Please [sim:fail:503] now")
        )


async def test_malformed_once_breaks_only_the_first_answer(
    openai_client: openai.AsyncOpenAI,
) -> None:
    messages = _messages("<answer>A. B.</answer> [sim:malformed:once]", "[rex:faithfulness:claims]")
    first = await openai_client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    second = await openai_client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    with pytest.raises(json.JSONDecodeError):
        json.loads(first.choices[0].message.content or "")
    assert json.loads(second.choices[0].message.content or "")["claims"][0] == "A."


async def test_a_missing_key_is_refused_in_openai_error_shape(sim_app: FastAPI) -> None:
    transport = httpx2.ASGITransport(app=sim_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim") as http:
        reply = await http.post("/v1/chat/completions", json={"model": "m", "messages": []})
    assert reply.status_code == 401
    assert reply.json()["error"]["type"] == "authentication_error"


async def test_a_body_that_is_not_json_is_a_400(sim_app: FastAPI) -> None:
    transport = httpx2.ASGITransport(app=sim_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim") as http:
        reply = await http.post("/v1/chat/completions", content=b"{nope")
    assert reply.status_code == 400


async def test_a_prompt_can_fail_a_set_number_of_times_then_answer(
    openai_client: openai.AsyncOpenAI,
) -> None:
    messages: list[Any] = [{"role": "user", "content": "hi [sim:fail:503:2]"}]
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await openai_client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    reply = await openai_client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert reply.choices[0].message.content


async def test_the_simulator_counts_requests_per_api_key_fingerprint(
    sim_app: FastAPI, openai_client: openai.AsyncOpenAI, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    await openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
    )
    await anthropic_client.messages.create(
        model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "x"}]
    )
    transport = httpx2.ASGITransport(app=sim_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim") as http:
        keys = (await http.get("/_sim/keys")).json()["keys"]
    fingerprint = hashlib.sha256(b"sim").hexdigest()[:16]
    assert keys == {fingerprint: 2}  # both clients use the key "sim"
