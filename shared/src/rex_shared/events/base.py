"""The base of every event contract, and the parts every event carries."""

from typing import ClassVar, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

REX_NAMESPACE = UUID("8569fdae-e16d-4760-a784-bb166d044fb2")
"""Namespace of deterministic event ids (REX_NS in CONVENTIONS.md): a re-send keeps its id,
e.g. `llm.cost.recorded` = uuid5(REX_NAMESPACE, "cost:" + call_id). Never change it."""


class Contract(BaseModel):
    """Base of every event: immutable, tolerant of fields added later."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    topic: ClassVar[str]


class Usage(BaseModel):
    """Canonical provider-neutral token usage; parts never exceed their whole."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    input_tokens: int = Field(0, ge=0, description="All input, cache reads and writes included")
    cache_read_tokens: int = Field(0, ge=0)
    cache_write_tokens: int = Field(0, ge=0)
    cache_write_1h_tokens: int = Field(0, ge=0, description="Part of cache_write_tokens")
    output_tokens: int = Field(0, ge=0, description="Reasoning included")
    reasoning_tokens: int = Field(0, ge=0)
    input_audio_tokens: int = Field(0, ge=0)
    output_audio_tokens: int = Field(0, ge=0)
    web_search_requests: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _parts_within_wholes(self) -> Self:
        if self.cache_read_tokens + self.cache_write_tokens + self.input_audio_tokens > (
            self.input_tokens
        ):
            raise ValueError("cache and audio input tokens exceed input_tokens")
        if self.cache_write_1h_tokens > self.cache_write_tokens:
            raise ValueError("cache_write_1h_tokens exceeds cache_write_tokens")
        if self.reasoning_tokens + self.output_audio_tokens > self.output_tokens:
            raise ValueError("reasoning and audio output tokens exceed output_tokens")
        return self

    @property
    def uncached_input_tokens(self) -> int:
        """Input billed at the plain input rate (text, neither cached nor written)."""
        return (
            self.input_tokens
            - self.cache_read_tokens
            - self.cache_write_tokens
            - self.input_audio_tokens
        )


class Payer(BaseModel):
    """Who pays: every event carries it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    org_id: str = Field(min_length=1, max_length=200)
    project_id: str = Field(min_length=1, max_length=200)
    user_id: str = Field(min_length=1, max_length=200)
