"""The one place that builds real adapters: pool, producer, broker, relay, sweep, and the app."""

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI
from faststream.kafka import KafkaBroker
from rex_shared import topics
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier, principal_dependency
from rex_shared.consumer import BatchConsumer
from rex_shared.events import LlmCostRecorded
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.outbox import OutboxRelay
from rex_shared.runtime import settle_gc
from rex_shared.security import RateLimiter, install_http_policy

from budget.adapters.pg import create_pool
from budget.adapters.usage_repo import unit_of_work
from budget.config import SCHEMA, SERVICE, Settings
from budget.entrypoints import alerts_api, api, preflight_api
from budget.entrypoints.consumer import subscribe_cost_recorded
from budget.entrypoints.sweeper import Sweeper
from budget.handlers import handle_cost_recorded, sweep

TOPICS = (
    topics.LLM_COST_RECORDED,
    topics.BUDGET_THRESHOLD_CROSSED,
    topics.BUDGET_FORECAST_EXCEEDED,
    topics.BUDGET_PERIOD_CLOSED,
)


@dataclass
class Runtime:
    """What the lifespan builds; routes and readiness checks read it."""

    settings: Settings
    pool: asyncpg.Pool | None = None
    producer: AIOKafkaProducer | None = None
    relay: OutboxRelay | None = None
    broker: KafkaBroker | None = None
    sweeper: Sweeper | None = None


def create_app(settings: Settings) -> FastAPI:
    """The budget service: HTTP API, `llm.cost.recorded` consumer, outbox relay and sweep."""
    runtime = Runtime(settings)
    # The verifier remembers verified tokens until they expire (the evaluator sends one token
    # for many pre-flight calls).
    verifier = JwtVerifier(settings.jwt_secret.get_secret_value(), jwks_url=settings.jwks_url)
    principal = principal_dependency(verifier)
    limiter = RateLimiter(
        lambda: runtime.pool,
        per_principal=settings.rate_limit_per_principal,
        per_org=settings.rate_limit_per_org,
    )
    # Every /api/v1 route: authenticated (the limiter's dependency verifies the token, 401
    # otherwise), then counted against the rate limits; routes then check roles.
    v1 = APIRouter(dependencies=[Depends(limiter.dependency(principal))])
    # Fixed paths first: `/api/v1/budgets/{budget_id}` must not take "alerts" or "check".
    for router in (alerts_api.router, preflight_api.router, api.router):
        v1.include_router(router)
    app = build_app(
        service=SERVICE,
        title="REX budget",
        lifespan=lambda _: _lifespan(runtime),
        routers=[v1],
        checks={
            "postgres": pg_check(lambda: runtime.pool),
            "kafka": kafka_check(lambda: runtime.producer),
        },
    )
    install_http_policy(app, settings.http_policy())
    app.state.runtime = runtime
    app.state.principal = principal
    return app


@asynccontextmanager
async def _lifespan(runtime: Runtime) -> AsyncIterator[None]:
    # Started in dependency order; the exit stack stops them in reverse: consuming stops
    # first, then the sweep and the relay, then the producer, and the pool closes last.
    s = runtime.settings
    async with AsyncExitStack() as stack:
        pool = runtime.pool = await create_pool(
            s.database_url, schema=SCHEMA, max_size=s.db_pool_size
        )
        stack.push_async_callback(pool.close)
        producer = runtime.producer = make_producer(s.kafka_bootstrap, client_id="rex-budget")
        await producer.start()
        stack.push_async_callback(producer.stop)
        await ensure_topics(s.kafka_bootstrap, TOPICS, partitions=s.kafka_partitions)
        relay = runtime.relay = OutboxRelay(pool, producer, schema=SCHEMA)
        await relay.start()
        stack.push_async_callback(relay.stop)
        sweeper = runtime.sweeper = Sweeper(_sweep(s, pool), interval_s=s.sweep_interval_s)
        sweeper.start()
        stack.push_async_callback(sweeper.stop)
        if s.consumer_enabled:
            broker = runtime.broker = _broker(s, pool, producer)
            await broker.start()
            stack.push_async_callback(broker.stop)
        _freeze_startup_objects(stack)
        yield


def _freeze_startup_objects(stack: AsyncExitStack) -> None:
    # Everything built so far (modules, app, clients) lives as long as the process: keep it
    # out of the garbage collector's full passes, each of which otherwise walks ~100k
    # objects and stalls every request in flight for tens of milliseconds (the pre-flight
    # routes' p99). Undone at shutdown.
    settle_gc()
    stack.callback(gc.unfreeze)


def _sweep(settings: Settings, pool: asyncpg.Pool) -> Callable[[], Awaitable[object]]:
    grace = timedelta(seconds=settings.period_close_grace_s)
    return partial(sweep, unit_of_work=partial(unit_of_work, pool), grace=grace)


def _broker(settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> KafkaBroker:
    broker = KafkaBroker(settings.kafka_bootstrap, client_id="rex-budget")
    consumer = BatchConsumer(
        name=SERVICE,
        model=LlmCostRecorded,
        handle=partial(
            handle_cost_recorded,
            unit_of_work=partial(unit_of_work, pool),
            forecast=settings.forecast_policy(),
        ),
        producer=producer,
    )
    subscribe_cost_recorded(
        broker,
        consumer,
        group_id=settings.consumer_group,
        max_records=settings.max_records,
        session_timeout_ms=settings.consumer_session_timeout_ms,
    )
    return broker
