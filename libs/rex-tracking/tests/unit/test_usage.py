"""Provider usage objects (built with the real SDK types) map exactly onto canonical Usage."""

from typing import Any

import pytest
from anthropic.types import CacheCreation, OutputTokensDetails, ServerToolUsage
from anthropic.types import Usage as AnthropicUsage
from openai.types import CompletionUsage
from openai.types.completion_usage import CompletionTokensDetails, PromptTokensDetails
from openai.types.responses import ResponseUsage
from openai.types.responses.response_usage import InputTokensDetails
from openai.types.responses.response_usage import OutputTokensDetails as ResponsesOutputDetails
from rex_shared.events import Usage
from rex_tracking import usage


def _usage(**fields: int) -> Usage:
    return Usage(**fields)


OPENAI_CHAT = [
    pytest.param(
        CompletionUsage(prompt_tokens=120, completion_tokens=30, total_tokens=150),
        _usage(input_tokens=120, output_tokens=30),
        id="no details",
    ),
    pytest.param(
        CompletionUsage(
            prompt_tokens=2006,
            completion_tokens=300,
            total_tokens=2306,
            prompt_tokens_details=PromptTokensDetails(cached_tokens=1920, audio_tokens=0),
            completion_tokens_details=CompletionTokensDetails(reasoning_tokens=256),
        ),
        _usage(input_tokens=2006, cache_read_tokens=1920, output_tokens=300, reasoning_tokens=256),
        id="cached is a subset of prompt, reasoning inside completion",
    ),
    pytest.param(
        CompletionUsage(
            prompt_tokens=500,
            completion_tokens=80,
            total_tokens=580,
            prompt_tokens_details=PromptTokensDetails(audio_tokens=200, cached_tokens=None),
            completion_tokens_details=CompletionTokensDetails(audio_tokens=60),
        ),
        _usage(input_tokens=500, input_audio_tokens=200, output_tokens=80, output_audio_tokens=60),
        id="audio in and out",
    ),
    pytest.param(
        CompletionUsage(
            prompt_tokens=3000,
            completion_tokens=10,
            total_tokens=3010,
            prompt_tokens_details=PromptTokensDetails(cached_tokens=1024, cache_write_tokens=1900),
        ),
        _usage(
            input_tokens=3000, cache_read_tokens=1024, cache_write_tokens=1900, output_tokens=10
        ),
        id="cache writes are a subset too",
    ),
    pytest.param(
        CompletionUsage(
            prompt_tokens=100,
            completion_tokens=5,
            total_tokens=105,
            prompt_tokens_details=PromptTokensDetails(cached_tokens=128),
            completion_tokens_details=CompletionTokensDetails(reasoning_tokens=9),
        ),
        _usage(input_tokens=100, cache_read_tokens=100, output_tokens=5, reasoning_tokens=5),
        id="an impossible part is clamped to its whole",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), OPENAI_CHAT)
def test_openai_chat_usage(raw: CompletionUsage, expected: Usage) -> None:
    assert usage.openai_chat(raw.model_dump(mode="json")) == expected


def test_openai_responses_usage() -> None:
    raw = ResponseUsage(
        input_tokens=1500,
        output_tokens=400,
        total_tokens=1900,
        input_tokens_details=InputTokensDetails(cached_tokens=1280, cache_write_tokens=0),
        output_tokens_details=ResponsesOutputDetails(reasoning_tokens=300),
    )
    assert usage.openai_responses(raw.model_dump(mode="json")) == _usage(
        input_tokens=1500, cache_read_tokens=1280, output_tokens=400, reasoning_tokens=300
    )


ANTHROPIC = [
    pytest.param(
        AnthropicUsage(input_tokens=50, output_tokens=10),
        _usage(input_tokens=50, output_tokens=10),
        id="no cache",
    ),
    pytest.param(
        AnthropicUsage(
            input_tokens=5,
            output_tokens=8,
            cache_creation_input_tokens=1500,
            cache_read_input_tokens=0,
            cache_creation=CacheCreation(
                ephemeral_5m_input_tokens=1500, ephemeral_1h_input_tokens=0
            ),
        ),
        _usage(input_tokens=1505, cache_write_tokens=1500, output_tokens=8),
        id="input_tokens excludes the 5-minute write",
    ),
    pytest.param(
        AnthropicUsage(
            input_tokens=5,
            output_tokens=8,
            cache_read_input_tokens=1500,
            cache_creation_input_tokens=0,
        ),
        _usage(input_tokens=1505, cache_read_tokens=1500, output_tokens=8),
        id="input_tokens excludes the read",
    ),
    pytest.param(
        AnthropicUsage(
            input_tokens=20,
            output_tokens=40,
            cache_creation_input_tokens=3000,
            cache_read_input_tokens=1000,
            cache_creation=CacheCreation(
                ephemeral_5m_input_tokens=1000, ephemeral_1h_input_tokens=2000
            ),
        ),
        _usage(
            input_tokens=4020,
            cache_read_tokens=1000,
            cache_write_tokens=3000,
            cache_write_1h_tokens=2000,
            output_tokens=40,
        ),
        id="reads plus 5m and 1h writes",
    ),
    pytest.param(
        AnthropicUsage(input_tokens=7, output_tokens=1, cache_creation_input_tokens=100),
        _usage(input_tokens=107, cache_write_tokens=100, output_tokens=1),
        id="writes without the ttl breakdown count as 5-minute",
    ),
    pytest.param(
        AnthropicUsage(
            input_tokens=30,
            output_tokens=500,
            output_tokens_details=OutputTokensDetails(thinking_tokens=400),
            server_tool_use=ServerToolUsage(web_search_requests=2, web_fetch_requests=0),
        ),
        _usage(input_tokens=30, output_tokens=500, reasoning_tokens=400, web_search_requests=2),
        id="thinking inside output, web searches counted",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), ANTHROPIC)
def test_anthropic_usage(raw: AnthropicUsage, expected: Usage) -> None:
    assert usage.anthropic_messages(raw.model_dump(mode="json")) == expected


@pytest.mark.parametrize(
    ("mapper", "raw"),
    [
        (usage.openai_chat, {}),
        (usage.anthropic_messages, {"input_tokens": None}),
        (usage.openai_chat, {"prompt_tokens": 3, "prompt_tokens_details": "odd"}),
    ],
)
def test_missing_or_odd_fields_count_as_zero(mapper: Any, raw: dict[str, Any]) -> None:
    result = mapper(raw)
    assert result.cache_read_tokens == 0 and result.output_tokens == 0


def test_uncached_anthropic_input_is_what_the_provider_called_input_tokens() -> None:
    raw = AnthropicUsage(
        input_tokens=20,
        output_tokens=1,
        cache_creation_input_tokens=300,
        cache_read_input_tokens=700,
    )
    assert usage.anthropic_messages(raw.model_dump(mode="json")).uncached_input_tokens == 20
