"""Cost tracking usable from any Python code: every LLM call becomes one `llm.call.completed`.

Teams send the cost of their own application's calls through the same pipeline as the
evaluator's judge calls (ledger -> budgets -> alerts):

    from evaluator.tracking import OutboxSink, Payer, paying, set_default_sink, track_llm_cost

    set_default_sink(OutboxSink(pool))          # or BufferedOutboxSink, KafkaSink, MemorySink

    @track_llm_cost(metric_name="summarize")
    async def summarize(text: str, model: str = "gpt-4o-mini"):
        return await openai_client.chat.completions.create(model=model, messages=[...])

    with paying(Payer(org_id="acme", project_id="search", user_id="alice")):
        await summarize("...")

or, around any call, the context manager:

    async with track_call(provider="anthropic", model="claude-haiku-4-5") as call:
        call.record(await anthropic_client.messages.create(...))

The decorated function must return the SDK's reply object (OpenAI ChatCompletion or Response,
Anthropic Message). A call that raises is recorded as failed (zero usage) and re-raised.
"""

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaProducer
from rex_shared import cloudevents
from rex_shared.events import Api, LlmCallCompleted
from rex_shared.kafka import send_events
from rex_shared.outbox import OUTBOX_INSERT, RelayWaker, channel, enqueue, outbox_row

from evaluator.adapters.llm import Response, Stopwatch, failed, succeeded
from evaluator.config import SCHEMA, SOURCE
from evaluator.domain import usage
from evaluator.ports import CallContext, ChatRequest

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Payer:
    """Who pays for the calls made in a `paying(...)` block."""

    org_id: str
    project_id: str
    user_id: str


class CostSink(Protocol):
    """Where call events go."""

    async def emit(self, event: LlmCallCompleted) -> None: ...


def outgoing(event: LlmCallCompleted) -> cloudevents.OutgoingEvent:
    """The CloudEvent of a call: id and key are the call id, so a re-send is the same event."""
    call_id = str(event.call_id)
    return cloudevents.build(
        event, source=SOURCE, event_id=call_id, key=call_id, time=event.completed_at
    )


class OutboxSink:
    """Durable: each event is committed to the outbox before `emit` returns; the relay
    publishes it (Kafka down delays it, loses nothing). One statement, one round trip; the
    relay is woken just after the commit (RelayWaker: no NOTIFY serializing the commits of
    calls tracked concurrently)."""

    def __init__(self, pool: asyncpg.Pool, *, schema: str = SCHEMA) -> None:
        self._pool = pool
        self._waker = RelayWaker(pool, channel(schema))

    async def emit(self, event: LlmCallCompleted) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(OUTBOX_INSERT, *outbox_row(outgoing(event)))
        self._waker.wake()

    async def close(self) -> None:
        """Drop a pending wake-up (the relay's polling finds the rows anyway)."""
        await self._waker.close()


class BufferedOutboxSink:
    """Cheapest per call: `emit` only queues the event; a background task commits batches to
    the outbox every `interval_s`. A crash loses at most that interval's events, so prefer
    OutboxSink where every cent must be counted."""

    def __init__(
        self, pool: asyncpg.Pool, *, schema: str = SCHEMA, interval_s: float = 0.05
    ) -> None:
        self._pool, self._schema, self._interval = pool, schema, interval_s
        self._pending: list[LlmCallCompleted] = []
        self._task: asyncio.Task[None] | None = None

    async def emit(self, event: LlmCallCompleted) -> None:
        self._pending.append(event)
        if self._task is None:
            self._task = asyncio.create_task(self._flush_forever())

    async def flush(self) -> None:
        """Commit what is queued now."""
        batch, self._pending = self._pending, []
        if batch:
            async with self._pool.acquire() as conn, conn.transaction():
                await enqueue(conn, [outgoing(e) for e in batch], schema=self._schema)  # type: ignore[arg-type]

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def close(self) -> None:
        """Stop the background task and commit the rest."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()


class KafkaSink:
    """Straight to Kafka (no outbox): for code without the evaluator's database. Kafka down
    means `emit` raises after the producer's own retries."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def emit(self, event: LlmCallCompleted) -> None:
        await send_events(self._producer, [outgoing(event)])


@dataclass
class MemorySink:
    """Keeps events in a list (tests, dry runs)."""

    events: list[LlmCallCompleted] = field(default_factory=list)

    async def emit(self, event: LlmCallCompleted) -> None:
        self.events.append(event)


_payer: ContextVar[Payer | None] = ContextVar("rex_payer", default=None)
_default_sink: list[CostSink] = []


def set_default_sink(sink: CostSink) -> None:
    """The sink used when a tracked call names none."""
    _default_sink[:] = [sink]


@contextmanager
def paying(payer: Payer) -> Iterator[Payer]:
    """Calls tracked inside this block (and the tasks it starts) are paid by `payer`."""
    token = _payer.set(payer)
    try:
        yield payer
    finally:
        _payer.reset(token)


def _reply_facts(reply: Any) -> tuple[str, Api, Response]:
    """Provider, API and usage of an SDK reply object."""
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


@dataclass
class TrackedCall:
    """What a `track_call` block learns: the reply, once `record` is called."""

    call_id: UUID = field(default_factory=uuid4)
    reply: Any = None

    def record(self, reply: Any) -> Any:
        """Remember the SDK reply (returned unchanged)."""
        self.reply = reply
        return reply


def _context(call_id: UUID, payer: Payer, metric: str | None, evaluation_id: UUID | None) -> Any:
    return CallContext(
        call_id=call_id,
        org_id=payer.org_id,
        project_id=payer.project_id,
        user_id=payer.user_id,
        evaluation_id=evaluation_id,
        metric=metric,
    )


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
    ctx = _context(call.call_id, payer, metric, evaluation_id)
    replied = getattr(call.reply, "model", None)
    request = ChatRequest(model or replied or "unknown", "", "")
    if error is None and call.reply is not None:
        found, api, response = _reply_facts(call.reply)
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
    chosen_sink = sink or (_default_sink[0] if _default_sink else None)
    chosen_payer = payer or _payer.get()
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
