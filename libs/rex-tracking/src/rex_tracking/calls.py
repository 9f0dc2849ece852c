"""An LLM call as its `llm.call.completed` event: timing, identity, usage, errors.

Every call, succeeded or failed, yields an `LlmCallCompleted`; a failed call carries zero
usage and the error.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from rex_shared.events import Api, LlmCallCompleted, Usage

from rex_tracking import usage
from rex_tracking.context import CallContext


class Stopwatch:
    """Wall-clock start plus a monotonic duration (the wall clock may jump)."""

    def __init__(self) -> None:
        self.started_at = datetime.now(UTC)
        self._t0 = time.perf_counter()

    def elapsed_ms(self) -> int:
        return round((time.perf_counter() - self._t0) * 1000)


class Requested(Protocol):
    """What was asked; the event needs only the model (any request object with one fits)."""

    @property
    def model(self) -> str: ...


@dataclass(frozen=True)
class Response:
    """What a provider answered, reduced to what the event needs."""

    model: str
    usage: Usage
    raw_usage: dict[str, Any] | None
    service_tier: str | None
    request_id: str | None


def succeeded(
    ctx: CallContext,
    *,
    provider: str,
    api: Api,
    request: Requested,
    clock: Stopwatch,
    response: Response,
) -> LlmCallCompleted:
    """The event of a call that returned an answer."""
    latency = clock.elapsed_ms()
    return LlmCallCompleted(
        **_identity(ctx),
        provider=provider,
        api=api,
        requested_model=request.model,
        model=response.model or request.model,
        started_at=clock.started_at,
        completed_at=clock.started_at + timedelta(milliseconds=latency),
        latency_ms=latency,
        status="succeeded",
        usage=response.usage,
        raw_usage=response.raw_usage,
        service_tier=response.service_tier,
        provider_request_id=response.request_id,
    )


def failed(
    ctx: CallContext,
    *,
    provider: str,
    api: Api,
    request: Requested,
    clock: Stopwatch,
    error: Exception,
) -> LlmCallCompleted:
    """The event of a call that raised: zero usage, the error kept."""
    latency = clock.elapsed_ms()
    return LlmCallCompleted(
        **_identity(ctx),
        provider=provider,
        api=api,
        requested_model=request.model,
        model=request.model,
        started_at=clock.started_at,
        completed_at=clock.started_at + timedelta(milliseconds=latency),
        latency_ms=latency,
        status="failed",
        error=f"{type(error).__name__}: {error}"[:1000],
        usage=Usage(),
        provider_request_id=getattr(error, "request_id", None),
    )


def reply_facts(reply: Any) -> tuple[str, Api, Response]:
    """Provider, API and usage of an SDK reply object (OpenAI ChatCompletion or Response,
    Anthropic Message), read by duck typing so neither SDK is a dependency."""
    provider = "anthropic" if type(reply).__module__.startswith("anthropic") else "openai"
    raw = reply.usage.model_dump(mode="json") if getattr(reply, "usage", None) else {}
    if provider == "anthropic":
        api: Api = "messages"
        mapped, tier = usage.anthropic_messages(raw), raw.get("service_tier")
    elif getattr(reply, "object", "") == "response":
        api, mapped, tier = "responses", usage.openai_responses(raw), reply.service_tier
    else:
        api, mapped, tier = "chat.completions", usage.openai_chat(raw), reply.service_tier
    request_id = getattr(reply, "_request_id", None)
    return provider, api, Response(reply.model, mapped, raw or None, tier, request_id)


def _identity(ctx: CallContext) -> dict[str, Any]:
    return {
        "call_id": ctx.call_id,
        "evaluation_id": ctx.evaluation_id,
        "metric": ctx.metric,
        "org_id": ctx.org_id,
        "project_id": ctx.project_id,
        "user_id": ctx.user_id,
        "row_index": ctx.row_index,
    }
