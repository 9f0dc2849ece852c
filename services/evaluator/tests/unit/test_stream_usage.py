"""Usage read from streams: OpenAI's final usage chunk, Anthropic's cumulative deltas."""

from evaluator.domain.stream_usage import AnthropicStreamUsage, OpenAiStreamUsage
from rex_tracking import usage


def test_openai_usage_comes_from_the_final_chunk_with_empty_choices() -> None:
    acc = OpenAiStreamUsage()
    for chunk in [
        {"model": "gpt-4o-mini-2024-07-18", "choices": [{"delta": {"role": "assistant"}}]},
        {"model": "gpt-4o-mini-2024-07-18", "choices": [{"delta": {"content": "Hel"}}]},
        {"service_tier": "default", "choices": [{"delta": {"content": "lo"}}], "usage": None},
        {"choices": [], "usage": {"prompt_tokens": 2006, "completion_tokens": 5,
                                  "prompt_tokens_details": {"cached_tokens": 1920}}},
    ]:  # fmt: skip
        acc.add(chunk)
    assert (acc.text, acc.model, acc.service_tier) == ("Hello", "gpt-4o-mini-2024-07-18", "default")
    assert acc.raw_usage is not None
    mapped = usage.openai_chat(acc.raw_usage)
    assert (mapped.input_tokens, mapped.cache_read_tokens, mapped.output_tokens) == (2006, 1920, 5)


def test_an_openai_stream_without_usage_reports_none() -> None:
    acc = OpenAiStreamUsage()
    acc.add({"model": "m", "choices": [{"delta": {"content": "x"}}]})
    assert acc.raw_usage is None


def test_anthropic_deltas_are_cumulative_and_overwrite_not_sum() -> None:
    acc = AnthropicStreamUsage()
    start_usage = {"input_tokens": 12, "cache_creation_input_tokens": 2048,
                   "cache_read_input_tokens": 0, "output_tokens": 1, "service_tier": "standard",
                   "cache_creation": {"ephemeral_5m_input_tokens": 2048,
                                      "ephemeral_1h_input_tokens": 0}}  # fmt: skip
    events = [
        {"type": "message_start", "message": {"model": "claude-x", "usage": start_usage}},
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi "}},
        {"type": "message_delta", "usage": {"output_tokens": 40}},
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "there"}},
        # Repeated and cumulative: the same totals again, plus fields left null.
        {"type": "message_delta", "usage": {"output_tokens": 87, "input_tokens": 12,
                                            "cache_read_input_tokens": None}},
        {"type": "message_delta", "usage": {"output_tokens": 87}},
    ]  # fmt: skip
    for event in events:
        acc.add(event)
    assert (acc.text, acc.model, acc.service_tier) == ("Hi there", "claude-x", "standard")
    assert acc.raw_usage["output_tokens"] == 87 and acc.raw_usage["input_tokens"] == 12
    mapped = usage.anthropic_messages(acc.raw_usage)
    assert (mapped.input_tokens, mapped.cache_write_tokens, mapped.output_tokens) == (
        2060,
        2048,
        87,
    )
