"""Provider usage objects mapped exactly into the canonical `rex_shared.events.Usage`.

Inputs are the providers' usage objects as plain dicts (`model_dump()` of the SDK types), so
the mapping is pure and the same dict is kept verbatim as `raw_usage`.
"""

from collections.abc import Mapping
from typing import Any

from rex_shared.events import Usage


def _get(raw: Mapping[str, Any] | None, *path: str) -> int:
    """An integer at `path`, 0 when any step is missing or null."""
    value: Any = raw
    for key in path:
        if not isinstance(value, Mapping):
            return 0
        value = value.get(key)
    return int(value) if isinstance(value, int | float) else 0


def openai_chat(raw: Mapping[str, Any]) -> Usage:
    """Chat Completions: `prompt_tokens` is all input; cached, written and audio are inside."""
    return _bounded(
        input_tokens=_get(raw, "prompt_tokens"),
        cache_read=_get(raw, "prompt_tokens_details", "cached_tokens"),
        cache_write=_get(raw, "prompt_tokens_details", "cache_write_tokens"),
        input_audio=_get(raw, "prompt_tokens_details", "audio_tokens"),
        output_tokens=_get(raw, "completion_tokens"),
        reasoning=_get(raw, "completion_tokens_details", "reasoning_tokens"),
        output_audio=_get(raw, "completion_tokens_details", "audio_tokens"),
    )


def openai_responses(raw: Mapping[str, Any]) -> Usage:
    """Responses API: `input_tokens` is all input, cached inside; reasoning inside output."""
    return _bounded(
        input_tokens=_get(raw, "input_tokens"),
        cache_read=_get(raw, "input_tokens_details", "cached_tokens"),
        cache_write=_get(raw, "input_tokens_details", "cache_write_tokens"),
        output_tokens=_get(raw, "output_tokens"),
        reasoning=_get(raw, "output_tokens_details", "reasoning_tokens"),
    )


def anthropic_messages(raw: Mapping[str, Any]) -> Usage:
    """Messages: `input_tokens` EXCLUDES cache reads and writes, so all input is their sum."""
    read = _get(raw, "cache_read_input_tokens")
    write_5m = _get(raw, "cache_creation", "ephemeral_5m_input_tokens")
    write_1h = _get(raw, "cache_creation", "ephemeral_1h_input_tokens")
    # Older responses lack the 5m/1h breakdown, and a breakdown alone must still count.
    write = max(_get(raw, "cache_creation_input_tokens"), write_5m + write_1h)
    return _bounded(
        input_tokens=_get(raw, "input_tokens") + read + write,
        cache_read=read,
        cache_write=write,
        cache_write_1h=write_1h,
        output_tokens=_get(raw, "output_tokens"),
        reasoning=_get(raw, "output_tokens_details", "thinking_tokens"),
        web_search=_get(raw, "server_tool_use", "web_search_requests"),
    )


def _bounded(
    *,
    input_tokens: int,
    output_tokens: int,
    cache_read: int = 0,
    cache_write: int = 0,
    cache_write_1h: int = 0,
    input_audio: int = 0,
    reasoning: int = 0,
    output_audio: int = 0,
    web_search: int = 0,
) -> Usage:
    """Clamp each part to what is left of its whole.

    A provider quirk must never cost us the event (the call was paid for); `raw_usage` keeps
    the original numbers for audit.
    """
    cache_read = min(cache_read, input_tokens)
    cache_write = min(cache_write, input_tokens - cache_read)
    reasoning = min(reasoning, output_tokens)
    return Usage(
        input_tokens=input_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=min(cache_write_1h, cache_write),
        input_audio_tokens=min(input_audio, input_tokens - cache_read - cache_write),
        output_tokens=output_tokens,
        reasoning_tokens=reasoning,
        output_audio_tokens=min(output_audio, output_tokens - reasoning),
        web_search_requests=web_search,
    )
