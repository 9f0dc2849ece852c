"""OpenAI Chat Completions through the official `openai` SDK."""

import openai

from evaluator.adapters.llm import Response, Stopwatch, failed, succeeded
from evaluator.domain import usage
from evaluator.ports import CallContext, ChatRequest, LlmReply


def _reasoning_model(model: str) -> bool:
    # o-series and gpt-5 models reject a temperature other than the default.
    return model.startswith(("o", "gpt-5"))


class OpenAiChat:
    """Judge calls to OpenAI (or anything speaking its wire format, like the simulator)."""

    provider = "openai"

    def __init__(self, sdk: openai.AsyncOpenAI) -> None:
        self._sdk = sdk

    @classmethod
    def connect(
        cls, *, base_url: str, api_key: str, timeout_s: float, max_retries: int
    ) -> "OpenAiChat":
        """A client on the official SDK; its retries honour Retry-After on 429 and 5xx."""
        return cls(
            openai.AsyncOpenAI(
                base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries
            )
        )

    async def complete(self, request: ChatRequest, ctx: CallContext) -> LlmReply:
        clock = Stopwatch()
        try:
            reply = await self._sdk.chat.completions.create(
                model=request.model,
                messages=[
                    {"role": "system", "content": request.system},
                    {"role": "user", "content": request.user},
                ],
                max_completion_tokens=request.max_tokens,
                temperature=openai.omit if _reasoning_model(request.model) else 0,
            )
        except openai.OpenAIError as exc:
            event = failed(
                ctx,
                provider=self.provider,
                api="chat.completions",
                request=request,
                clock=clock,
                error=exc,
            )
            return LlmReply(None, event)
        raw = reply.usage.model_dump(mode="json") if reply.usage else None
        response = Response(
            model=reply.model,
            usage=usage.openai_chat(raw or {}),
            raw_usage=raw,
            service_tier=reply.service_tier,
            request_id=reply._request_id,
        )
        event = succeeded(
            ctx,
            provider=self.provider,
            api="chat.completions",
            request=request,
            clock=clock,
            response=response,
        )
        text = reply.choices[0].message.content if reply.choices else None
        return LlmReply(text or "", event)

    async def close(self) -> None:
        await self._sdk.close()
