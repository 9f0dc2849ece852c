"""Turning an SDK call into its `llm.call.completed` event: timing, identity, usage, errors.

Every call, succeeded or failed, yields an `LlmCallCompleted`; a failed call carries zero
usage and the error. Retries of one call (429/5xx, honouring Retry-After) stay inside it: a
refused attempt is not billed, so the call has one event with the usage of the attempt that
answered.
"""

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from rex_shared.events import Api, LlmCallCompleted, Usage

from evaluator.adapters.retry import Failure, Retrier
from evaluator.domain.backoff import RetryPolicy
from evaluator.ports import CallContext, ChatRequest, LlmReply

CALL_ID_HEADER = "X-Rex-Call-Id"
EVALUATION_ID_HEADER = "X-Rex-Evaluation-Id"


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


class SdkChat(ABC):
    """Judge calls over one provider's official SDK: our retries around one attempt (plain
    or streamed, as the subclass makes it) and exactly one event per call, answered or not."""

    provider: str
    api: ClassVar[Api]
    sdk_error: ClassVar[type[Exception]]  # what the SDK raises once our retries give up

    def __init__(self, *, retrier: Retrier | None, stream: bool) -> None:
        self._stream = stream
        self._retrier = retrier or Retrier(RetryPolicy(max_retries=0))

    async def complete(self, request: ChatRequest, ctx: CallContext) -> LlmReply:
        clock = Stopwatch()
        once = self._streamed if self._stream else self._plain
        provider, api = self.provider, self.api
        try:
            headers = call_headers(ctx)
            text, response = await self._retrier.run(
                lambda: once(request, headers), self._failure_of
            )
        except self.sdk_error as exc:
            event = failed(ctx, provider=provider, api=api, request=request, clock=clock, error=exc)
            return LlmReply(None, event)
        event = succeeded(
            ctx, provider=provider, api=api, request=request, clock=clock, response=response
        )
        return LlmReply(text, event)

    @staticmethod
    @abstractmethod
    def _failure_of(exc: Exception) -> Failure | None:
        """Retry facts of an SDK error (None: not a provider failure, do not retry)."""

    @abstractmethod
    async def _plain(self, request: ChatRequest, headers: dict[str, str]) -> tuple[str, Response]:
        """One attempt, answered whole (`headers` sent along, see call_headers)."""

    @abstractmethod
    async def _streamed(
        self, request: ChatRequest, headers: dict[str, str]
    ) -> tuple[str, Response]:
        """One attempt, answered as a stream (usage from its last events)."""


def call_headers(ctx: CallContext) -> dict[str, str]:
    """REX's ids of a judge call, sent with it: a provider's bill can then be matched call by
    call with the ledger (the simulator counts what it served by them, `GET /_sim/served`).
    Real providers ignore headers they do not know; both are random UUIDs, nothing private."""
    headers = {CALL_ID_HEADER: str(ctx.call_id)}
    if ctx.evaluation_id is not None:
        headers[EVALUATION_ID_HEADER] = str(ctx.evaluation_id)
    return headers


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
