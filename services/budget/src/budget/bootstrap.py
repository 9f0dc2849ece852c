"""The composition root: the one place that builds pools, producers, the consumer loop, the
relay and the sweep, the `Deps` routes read, and the app. Every real adapter can be replaced by a
keyword argument (tests pass fakes or a pool of their own)."""

import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Request
from rex_shared import topics
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier, Principal, principal_dependency
from rex_shared.clock import Clock, utcnow
from rex_shared.consumer import BatchConsumer
from rex_shared.consuming import ConsumerLoop
from rex_shared.db import role_pools
from rex_shared.errors import Unavailable
from rex_shared.events import LlmCostRecorded
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.outbox import OutboxRelay
from rex_shared.runtime import settle_gc
from rex_shared.security import RateLimiter, install_http_policy

from budget.adapters.pg import create_pool
from budget.adapters.usage_repo import unit_of_work
from budget.config import SCHEMA, SERVICE, Settings
from budget.domain.forecast import ForecastPolicy
from budget.entrypoints import http
from budget.entrypoints.kafka import cost_recorded_loop
from budget.entrypoints.workers import Sweeper
from budget.handlers.usage import handle_cost_recorded, sweep

TOPICS = (
    topics.LLM_COST_RECORDED,
    topics.BUDGET_THRESHOLD_CROSSED,
    topics.BUDGET_FORECAST_EXCEEDED,
    topics.BUDGET_PERIOD_CLOSED,
)


@dataclass
class Deps:
    """What routes need; the pool and producer are open while the app runs (None before)."""

    settings: Settings
    verify: Callable[[Request], Coroutine[Any, Any, Principal]]
    forecast: ForecastPolicy
    reservation_ttl: timedelta
    now: Clock = utcnow
    new_id: Callable[[], UUID] = uuid4
    pool: asyncpg.Pool | None = None
    producer: AIOKafkaProducer | None = None

    def db(self) -> asyncpg.Pool:
        """The open pool; 503 NOT_READY before the lifespan opened it."""
        if self.pool is None:
            raise Unavailable("NOT_READY", "the database pool is not open")
        return self.pool


def create_app(
    settings: Settings,
    *,
    pool: asyncpg.Pool | None = None,
    producer: AIOKafkaProducer | None = None,
    now: Clock = utcnow,
    new_id: Callable[[], UUID] = uuid4,
) -> FastAPI:
    """The budget service: HTTP API, `llm.cost.recorded` consumer, outbox relay and sweep."""
    # The verifier remembers verified tokens until they expire (the evaluator sends one token
    # for many pre-flight calls).
    verifier = JwtVerifier(settings.jwt_secret.get_secret_value(), jwks_url=settings.jwks_url)
    deps = Deps(
        settings=settings,
        verify=principal_dependency(verifier),
        forecast=settings.forecast_policy(),
        reservation_ttl=settings.reservation_ttl,
        now=now,
        new_id=new_id,
        pool=pool,
        producer=producer,
    )
    limiter = RateLimiter(
        lambda: deps.pool,
        per_principal=settings.rate_limit_per_principal,
        per_org=settings.rate_limit_per_org,
    )
    # Every /api/v1 route: authenticated (the limiter's dependency verifies the token, 401
    # otherwise), then counted against the rate limits; routes then check roles.
    v1 = APIRouter(dependencies=[Depends(limiter.dependency(deps.verify))])
    for router in http.routers():
        v1.include_router(router)
    app = build_app(
        service=SERVICE,
        title="REX budget",
        lifespan=lambda _: _lifespan(deps, pool, producer),
        routers=[v1],
        checks={
            "postgres": pg_check(lambda: deps.pool),
            "kafka": kafka_check(lambda: deps.producer),
        },
    )
    install_http_policy(app, settings.http_policy())
    app.state.deps = deps
    return app


@asynccontextmanager
async def _lifespan(
    deps: Deps, lent_pool: asyncpg.Pool | None, lent_producer: AIOKafkaProducer | None
) -> AsyncIterator[None]:
    # Started in dependency order; the exit stack stops them in reverse: consuming stops
    # first, then the sweep and the relay, then the producer, and the pool closes last.
    # A lent pool or producer (tests) is used, never opened or closed here.
    s = deps.settings
    async with AsyncExitStack() as stack:
        # Requests on the request role's pool; the relay, sweep and consumer on the worker's.
        pool, worker = (lent_pool, lent_pool) if lent_pool else await _open_pools(s, stack)
        deps.pool = pool
        producer = deps.producer = lent_producer or await _start_producer(s, stack)
        await ensure_topics(s.kafka_bootstrap, TOPICS, partitions=s.kafka_partitions)
        relay = OutboxRelay(worker, producer, schema=SCHEMA)
        await relay.start()
        stack.push_async_callback(relay.stop)
        sweeper = Sweeper(sweep_job(s, worker), interval_s=s.sweep_interval_s)
        sweeper.start()
        stack.push_async_callback(sweeper.stop)
        if s.consumer_enabled:
            loop = _consumer_loop(s, cost_recorded_consumer(s, worker, producer))
            await loop.start()
            stack.push_async_callback(loop.stop)
        _freeze_startup_objects(stack)
        yield


async def _open_pools(s: Settings, stack: AsyncExitStack) -> tuple[asyncpg.Pool, asyncpg.Pool]:
    dsns = (s.database_url, s.worker_dsn)
    return await role_pools(
        *dsns, schema=SCHEMA, max_size=s.db_pool_size, stack=stack, open_pool=create_pool
    )


async def _start_producer(s: Settings, stack: AsyncExitStack) -> AIOKafkaProducer:
    producer = make_producer(s.kafka_bootstrap, client_id="rex-budget")
    await producer.start()
    stack.push_async_callback(producer.stop)
    return producer


def _freeze_startup_objects(stack: AsyncExitStack) -> None:
    # Everything built so far (modules, app, clients) lives as long as the process: keep it
    # out of the garbage collector's full passes, each of which otherwise walks ~100k
    # objects and stalls every request in flight for tens of milliseconds (the pre-flight
    # routes' p99). Undone at shutdown.
    settle_gc()
    stack.callback(gc.unfreeze)


def sweep_job(settings: Settings, pool: asyncpg.Pool) -> Callable[[], Awaitable[object]]:
    """One round of the periodic sweep over `pool`."""
    grace = timedelta(seconds=settings.period_close_grace_s)
    return partial(sweep, unit_of_work=partial(unit_of_work, pool), grace=grace)


def cost_recorded_consumer(
    settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer, *, name: str = SERVICE
) -> BatchConsumer[LlmCostRecorded]:
    """The `llm.cost.recorded` batch consumer over `pool` (dead letters through `producer`)."""
    return BatchConsumer(
        name=name,
        model=LlmCostRecorded,
        handle=partial(
            handle_cost_recorded,
            unit_of_work=partial(unit_of_work, pool),
            forecast=settings.forecast_policy(),
        ),
        producer=producer,
    )


def _consumer_loop(settings: Settings, consumer: BatchConsumer[LlmCostRecorded]) -> ConsumerLoop:
    return cost_recorded_loop(
        consumer,
        bootstrap=settings.kafka_bootstrap,
        group_id=settings.consumer_group,
        max_records=settings.max_records,
        session_timeout_ms=settings.consumer_session_timeout_ms,
    )
