"""`track_llm_cost` and `track_call`: exactly one event per call, succeeded or raised."""

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar
from uuid import UUID, uuid4

from rex_shared.events import LlmCallCompleted

from rex_tracking.calls import Stopwatch, failed, reply_facts, succeeded
from rex_tracking.context import CallContext, Payer, current_payer
from rex_tracking.sinks import CostSink, default_sink

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class TrackedCall:
    """What a `track_call` block learns: the reply, once `record` is called."""

    call_id: UUID = field(default_factory=uuid4)
    reply: Any = None

    def record(self, reply: Any) -> Any:
        """Remember the SDK reply (returned unchanged)."""
        self.reply = reply
        return reply


@dataclass(frozen=True)
class _Asked:
    model: str


def build_event(
    call: TrackedCall,
    *,
    clock: Stopwatch,
    payer: Payer,
    model: str,
    provider: str | None,
    metric: str | None,
    evaluation_id: UUID | None = None,
    error: BaseException | None = None,
) -> LlmCallCompleted:
    """The call's event: succeeded with exact usage, or failed with the error."""
    ctx = CallContext(
        call_id=call.call_id,
        org_id=payer.org_id,
        project_id=payer.project_id,
        user_id=payer.user_id,
        evaluation_id=evaluation_id,
        metric=metric,
    )
    replied = getattr(call.reply, "model", None)
    request = _Asked(model or replied or "unknown")
    if error is None and call.reply is not None:
        found, api, response = reply_facts(call.reply)
        return succeeded(
            ctx,
            provider=provider or found,
            api=api,
            request=request,
            clock=clock,
            response=response,
        )
    reason = error if isinstance(error, Exception) else RuntimeError("no reply was recorded")
    guessed = provider or ("anthropic" if "anthropic" in type(reason).__module__ else "openai")
    api = "messages" if guessed == "anthropic" else "chat.completions"
    return failed(ctx, provider=guessed, api=api, request=request, clock=clock, error=reason)


def _resolve(sink: CostSink | None, payer: Payer | None) -> tuple[CostSink, Payer]:
    chosen_sink = sink or default_sink()
    chosen_payer = payer or current_payer()
    if chosen_sink is None:
        raise RuntimeError("no cost sink: pass sink= or call set_default_sink()")
    if chosen_payer is None:
        raise RuntimeError("no payer: pass payer= or wrap the call in paying(Payer(...))")
    return chosen_sink, chosen_payer


@asynccontextmanager
async def track_call(
    *,
    model: str = "",
    provider: str | None = None,
    metric: str | None = None,
    evaluation_id: UUID | None = None,
    sink: CostSink | None = None,
    payer: Payer | None = None,
) -> AsyncIterator[TrackedCall]:
    """Exactly one event for the call made inside the block, whether it succeeds or raises."""
    target, who = _resolve(sink, payer)
    call, clock = TrackedCall(), Stopwatch()
    args = {
        "clock": clock,
        "payer": who,
        "model": model,
        "provider": provider,
        "metric": metric,
        "evaluation_id": evaluation_id,
    }
    try:
        yield call
    except BaseException as exc:
        await target.emit(build_event(call, error=exc, **args))  # type: ignore[arg-type]
        raise
    await target.emit(build_event(call, **args))  # type: ignore[arg-type]


def track_llm_cost(
    metric_name: str | None = None,
    *,
    provider: str | None = None,
    sink: CostSink | None = None,
    model_arg: str = "model",
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate an async function returning an SDK reply: its cost is tracked per call."""

    def wrap(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(fn)
        async def tracked(*args: P.args, **kwargs: P.kwargs) -> R:
            model = str(kwargs.get(model_arg) or "")
            async with track_call(
                model=model, provider=provider, metric=metric_name, sink=sink
            ) as call:
                return call.record(await fn(*args, **kwargs))  # type: ignore[no-any-return]

        return tracked

    return wrap
