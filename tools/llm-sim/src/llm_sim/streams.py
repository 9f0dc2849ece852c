"""Streamed replies: OpenAI chat chunks and Anthropic message events, as each sends them."""

from collections.abc import Iterator
from typing import Any

from llm_sim.wire import pieces, sse


def openai_chunks(completion: dict[str, Any], include_usage: bool) -> Iterator[str]:
    """Chunks as OpenAI sends them; usage only on a last chunk with empty choices, if asked."""
    choice = completion["choices"][0]
    base = {
        k: completion[k] for k in ("id", "created", "model", "service_tier", "system_fingerprint")
    }
    base["object"] = "chat.completion.chunk"
    if include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return sse(
            {
                **base,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    for piece in pieces(choice["message"]["content"]):
        yield chunk({"content": piece})
    yield chunk({}, choice["finish_reason"])
    if include_usage:
        yield sse({**base, "choices": [], "usage": completion["usage"]})
    yield "data: [DONE]\n\n"


def anthropic_events(message: dict[str, Any]) -> Iterator[str]:
    """Events as Anthropic sends them; `message_delta` usage is cumulative."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    yield sse({"type": "message_start", "message": start}, "message_start")
    for index, block in enumerate(message["content"]):
        yield from _stream_block(index, block)
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    yield sse({"type": "message_delta", "delta": delta, "usage": usage}, "message_delta")
    yield sse({"type": "message_stop"}, "message_stop")


def _stream_block(index: int, block: dict[str, Any]) -> Iterator[str]:
    kind = block["type"]
    empty = (
        {"type": "thinking", "thinking": "", "signature": ""}
        if kind == "thinking"
        else {"type": "text", "text": ""}
    )
    yield sse(
        {"type": "content_block_start", "index": index, "content_block": empty},
        "content_block_start",
    )
    for piece in pieces(block.get("text") or block.get("thinking") or ""):
        delta = (
            {"type": "thinking_delta", "thinking": piece}
            if kind == "thinking"
            else {"type": "text_delta", "text": piece}
        )
        yield sse(
            {"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta"
        )
    yield sse({"type": "content_block_stop", "index": index}, "content_block_stop")
