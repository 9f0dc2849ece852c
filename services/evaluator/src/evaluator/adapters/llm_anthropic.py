"""Anthropic Messages through the official `anthropic` SDK, streamed or not."""

from typing import Any

import anthropic
from anthropic.types import TextBlockParam
from rex_tracking import Response, usage

from evaluator.adapters.llm import SdkChat
from evaluator.adapters.retry import Failure
from evaluator.domain.stream_usage import AnthropicStreamUsage
from evaluator.ports import ChatRequest


def _system(text: str) -> list[TextBlockParam]:
    # The judge's system prompt is the same for every row of a metric: the shared prefix.
    # Marking it cacheable makes every later call of the metric read it at a tenth of the
    # input price; Anthropic ignores the marker below its minimum length, so it costs nothing.
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def failure_of(exc: Exception) -> Failure | None:
    """Retry facts of an SDK error (None: not a provider failure, do not retry)."""
    if isinstance(exc, anthropic.APIStatusError):
        return Failure(exc.status_code, exc.response.headers)
    if isinstance(exc, anthropic.APIConnectionError):  # timeouts included
        return Failure(None, {})
    return None


class AnthropicMessages(SdkChat[anthropic.AsyncAnthropic]):
    """Judge calls to Anthropic (or the simulator speaking its wire format)."""

    provider = "anthropic"
    api = "messages"
    sdk_error = anthropic.AnthropicError
    sdk_client = anthropic.AsyncAnthropic
    _failure_of = staticmethod(failure_of)

    def _args(self, request: ChatRequest, headers: dict[str, str]) -> dict[str, Any]:
        return {
            "model": request.model,
            "extra_headers": headers,
            "max_tokens": request.max_tokens,
            "system": _system(request.system),
            "messages": [{"role": "user", "content": request.user}],
        }

    async def _plain(self, request: ChatRequest, headers: dict[str, str]) -> tuple[str, Response]:
        reply = await self._sdk.messages.create(**self._args(request, headers))
        raw = reply.usage.model_dump(mode="json")
        response = Response(
            model=reply.model,
            usage=usage.anthropic_messages(raw),
            raw_usage=raw,
            service_tier=reply.usage.service_tier,
            request_id=reply._request_id,
        )
        text = "".join(b.text for b in reply.content if b.type == "text")
        return text, response

    async def _streamed(
        self, request: ChatRequest, headers: dict[str, str]
    ) -> tuple[str, Response]:
        stream = await self._sdk.messages.create(**self._args(request, headers), stream=True)
        acc = AnthropicStreamUsage()
        async for event in stream:
            acc.add(event.model_dump(mode="json"))
        request_id = stream.response.headers.get("request-id")
        raw = acc.raw_usage
        mapped = usage.anthropic_messages(raw)
        return acc.text, Response(acc.model, mapped, raw, acc.service_tier, request_id)

    async def close(self) -> None:
        await self._sdk.close()
