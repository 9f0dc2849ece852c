"""Judge calls through the providers' SDKs, each turned into its `llm.call.completed` event.

Every call, succeeded or failed, yields an `LlmCallCompleted` (built by `rex_tracking`); a
failed call carries zero usage and the error. Retries of one call (429/5xx, honouring
Retry-After) stay inside it: a refused attempt is not billed, so the call has one event with
the usage of the attempt that answered.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Self, TypeVar

from rex_shared.events import Api
from rex_tracking import CallContext, Response, Stopwatch, failed, succeeded

from evaluator.adapters.retry import Failure, Retrier
from evaluator.domain.backoff import RetryPolicy
from evaluator.ports import ChatRequest, LlmReply

CALL_ID_HEADER = "X-Rex-Call-Id"
EVALUATION_ID_HEADER = "X-Rex-Evaluation-Id"

Sdk = TypeVar("Sdk")


class SdkChat(ABC, Generic[Sdk]):
    """Judge calls over one provider's official SDK: our retries around one attempt (plain
    or streamed, as the subclass makes it) and exactly one event per call, answered or not."""

    provider: str
    api: ClassVar[Api]
    sdk_error: ClassVar[type[Exception]]  # what the SDK raises once our retries give up
    sdk_client: ClassVar[Callable[..., Any]]  # the SDK's async client class

    def __init__(self, sdk: Sdk, *, retrier: Retrier | None = None, stream: bool = False) -> None:
        self._sdk = sdk
        self._stream = stream
        self._retrier = retrier or Retrier(RetryPolicy(max_retries=0))

    @classmethod
    def connect(
        cls, *, base_url: str, api_key: str, timeout_s: float, retrier: Retrier, stream: bool
    ) -> Self:
        """A client on the official SDK; retries are ours (SDK retries off), see Retrier."""
        sdk = cls.sdk_client(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)
        return cls(sdk, retrier=retrier, stream=stream)

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
