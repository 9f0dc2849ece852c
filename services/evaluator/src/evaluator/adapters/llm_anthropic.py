"""Anthropic Messages through the official `anthropic` SDK."""

import anthropic
from anthropic.types import TextBlockParam

from evaluator.adapters.llm import Response, Stopwatch, failed, succeeded
from evaluator.domain import usage
from evaluator.ports import CallContext, ChatRequest, LlmReply


def _system(text: str) -> list[TextBlockParam]:
    # The judge's system prompt is the same for every row of a metric: mark it cacheable.
    # Anthropic ignores the marker below its minimum length, so short prompts cost nothing.
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


class AnthropicMessages:
    """Judge calls to Anthropic (or the simulator speaking its wire format)."""

    provider = "anthropic"

    def __init__(self, sdk: anthropic.AsyncAnthropic) -> None:
        self._sdk = sdk

    @classmethod
    def connect(
        cls, *, base_url: str, api_key: str, timeout_s: float, max_retries: int
    ) -> "AnthropicMessages":
        """A client on the official SDK; its retries honour Retry-After on 429 and 5xx."""
        return cls(
            anthropic.AsyncAnthropic(
                base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries
            )
        )

    async def complete(self, request: ChatRequest, ctx: CallContext) -> LlmReply:
        clock = Stopwatch()
        try:
            reply = await self._sdk.messages.create(
                model=request.model,
                max_tokens=request.max_tokens,
                system=_system(request.system),
                messages=[{"role": "user", "content": request.user}],
            )
        except anthropic.AnthropicError as exc:
            event = failed(
                ctx, provider=self.provider, api="messages", request=request, clock=clock, error=exc
            )
            return LlmReply(None, event)
        raw = reply.usage.model_dump(mode="json")
        response = Response(
            model=reply.model,
            usage=usage.anthropic_messages(raw),
            raw_usage=raw,
            service_tier=reply.usage.service_tier,
            request_id=reply._request_id,
        )
        event = succeeded(
            ctx,
            provider=self.provider,
            api="messages",
            request=request,
            clock=clock,
            response=response,
        )
        text = "".join(b.text for b in reply.content if b.type == "text")
        return LlmReply(text, event)

    async def close(self) -> None:
        await self._sdk.close()
