"""OpenAI Chat Completions through the official `openai` SDK, streamed or not."""

from typing import Any

import openai
from rex_shared.events import Usage
from rex_tracking import Response, usage

from evaluator.adapters.llm import SdkChat
from evaluator.adapters.retry import Failure
from evaluator.domain import tokens
from evaluator.domain.stream_usage import OpenAiStreamUsage
from evaluator.ports import ChatRequest


def _reasoning_model(model: str) -> bool:
    # o-series and gpt-5 models reject a temperature other than the default.
    return model.startswith(("o", "gpt-5"))


def failure_of(exc: Exception) -> Failure | None:
    """Retry facts of an SDK error (None: not a provider failure, do not retry)."""
    if isinstance(exc, openai.APIStatusError):
        return Failure(exc.status_code, exc.response.headers)
    if isinstance(exc, openai.APIConnectionError):  # timeouts included
        return Failure(None, {})
    return None


def _messages(request: ChatRequest) -> list[Any]:
    return [
        {"role": "system", "content": request.system},
        {"role": "user", "content": request.user},
    ]


class OpenAiChat(SdkChat[openai.AsyncOpenAI]):
    """Judge calls to OpenAI (or anything speaking its wire format, like the simulator)."""

    provider = "openai"
    api = "chat.completions"
    sdk_error = openai.OpenAIError
    sdk_client = openai.AsyncOpenAI
    _failure_of = staticmethod(failure_of)

    def _args(self, request: ChatRequest, headers: dict[str, str]) -> dict[str, Any]:
        return {
            "model": request.model,
            "extra_headers": headers,
            "messages": _messages(request),
            "max_completion_tokens": request.max_tokens,
            "temperature": openai.omit if _reasoning_model(request.model) else 0,
        }

    async def _plain(self, request: ChatRequest, headers: dict[str, str]) -> tuple[str, Response]:
        reply = await self._sdk.chat.completions.create(**self._args(request, headers))
        raw = reply.usage.model_dump(mode="json") if reply.usage else None
        response = Response(
            model=reply.model,
            usage=usage.openai_chat(raw or {}),
            raw_usage=raw,
            service_tier=reply.service_tier,
            request_id=reply._request_id,
        )
        text = reply.choices[0].message.content if reply.choices else None
        return text or "", response

    async def _streamed(
        self, request: ChatRequest, headers: dict[str, str]
    ) -> tuple[str, Response]:
        stream = await self._sdk.chat.completions.create(
            **self._args(request, headers), stream=True, stream_options={"include_usage": True}
        )
        acc = OpenAiStreamUsage()
        async for chunk in stream:
            acc.add(chunk.model_dump(mode="json"))
        request_id = stream.response.headers.get("x-request-id")
        raw = acc.raw_usage
        mapped = usage.openai_chat(raw) if raw else _counted(request, acc.text)
        response = Response(acc.model, mapped, raw, acc.service_tier, request_id)
        return acc.text, response

    async def close(self) -> None:
        await self._sdk.close()


def _counted(request: ChatRequest, text: str) -> Usage:
    # An interrupted or misconfigured stream never reports usage, but the call was billed:
    # count it ourselves rather than record zero.
    encoding = tokens.encoding_for(request.model)
    prompt = sum(tokens.count(m, encoding) + 4 for m in (request.system, request.user)) + 3
    return Usage(input_tokens=prompt, output_tokens=tokens.count(text, encoding))
