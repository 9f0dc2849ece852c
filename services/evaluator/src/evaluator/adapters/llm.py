"""Turning an SDK call into its `llm.call.completed` event: timing, identity, usage, errors.

Every call, succeeded or failed, yields an `LlmCallCompleted`; a failed call carries zero
usage and the error. Retries of one call (429/5xx, honouring Retry-After) stay inside it: a
refused attempt is not billed, so the call has one event with the usage of the attempt that
answered.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rex_shared.events import Api, LlmCallCompleted, Usage

from evaluator.ports import CallContext, ChatRequest


class Stopwatch:
    """Wall-clock start plus a monotonic duration (the wall clock may jump)."""

    def __init__(self) -> None:
        self.started_at = datetime.now(UTC)
        self._t0 = time.perf_counter()

    def elapsed_ms(self) -> int:
        return round((time.perf_counter() - self._t0) * 1000)


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
    request: ChatRequest,
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
    request: ChatRequest,
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
