"""Usage from streamed replies, as each provider reports it (see shared/PRICING.md).

OpenAI sends usage once, on a final chunk with empty `choices`, and only when the request set
`stream_options.include_usage`. Anthropic sends input and cache counts in `message_start`;
each `message_delta` carries CUMULATIVE usage that may repeat fields, so later values
overwrite earlier ones: summing them would count tokens twice.
"""

from collections.abc import Mapping
from typing import Any


class OpenAiStreamUsage:
    """Text, model, tier and the usage of an OpenAI chat stream, chunk by chunk."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.model = ""
        self.service_tier: str | None = None
        self.raw_usage: dict[str, Any] | None = None

    def add(self, chunk: Mapping[str, Any]) -> None:
        self.model = chunk.get("model") or self.model
        self.service_tier = chunk.get("service_tier") or self.service_tier
        for choice in chunk.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if content:
                self.parts.append(content)
        if chunk.get("usage"):
            self.raw_usage = dict(chunk["usage"])

    @property
    def text(self) -> str:
        return "".join(self.parts)


class AnthropicStreamUsage:
    """Text, model, tier and the usage of an Anthropic message stream, event by event."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.model = ""
        self.raw_usage: dict[str, Any] = {}

    def add(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.model = message.get("model") or self.model
            self.raw_usage = dict(message.get("usage") or {})
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                self.parts.append(str(delta.get("text") or ""))
        elif kind == "message_delta":
            self._overwrite(event.get("usage") or {})

    def _overwrite(self, usage: Mapping[str, Any]) -> None:
        # Cumulative: the latest non-null value of each field is the total so far.
        for key, value in usage.items():
            if value is not None:
                self.raw_usage[key] = value

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def service_tier(self) -> str | None:
        tier = self.raw_usage.get("service_tier")
        return str(tier) if tier else None
