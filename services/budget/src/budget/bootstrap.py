"""The one place that builds real adapters: pool, producer, broker, relay, and the app."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from rex_shared import topics
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier, principal_dependency
from rex_shared.consumer import BatchConsumer
from rex_shared.db import create_pool
from rex_shared.events import LlmCostRecorded
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.outbox import OutboxRelay

from budget.adapters.usage_repo import unit_of_work
from budget.config import SCHEMA, SERVICE, Settings
from budget.entrypoints import alerts_api, api
from budget.entrypoints.consumer import subscribe_cost_recorded
from budget.handlers import handle_cost_recorded

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


def create_app(settings: Settings) -> FastAPI:
    """The budget service: HTTP API, `llm.cost.recorded` consumer and outbox relay."""
    runtime = Runtime(settings)
    verifier = JwtVerifier(settings.jwt_secret.get_secret_value())
    app = build_app(
        service=SERVICE,
        title="REX budget",
        lifespan=lambda _: _lifespan(runtime),
        # Alerts first: `/api/v1/budgets/alerts` must not be taken for a budget id.
        routers=[alerts_api.router, api.router],
        checks={
            "postgres": pg_check(lambda: runtime.pool),
            "kafka": kafka_check(lambda: runtime.producer),
        },
    )
    app.state.runtime = runtime
    app.state.principal = principal_dependency(verifier)
    return app


@asynccontextmanager
async def _lifespan(runtime: Runtime) -> AsyncIterator[None]:
    # Started in dependency order; the exit stack stops them in reverse: consuming stops
    # first, then the relay, then the producer, and the pool closes last.
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
        broker = runtime.broker = _broker(s, pool, producer)
        await broker.start()
        stack.push_async_callback(broker.stop)
        yield


def _broker(settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> KafkaBroker:
    broker = KafkaBroker(settings.kafka_bootstrap, client_id="rex-budget")
    consumer = BatchConsumer(
        name=SERVICE,
        model=LlmCostRecorded,
        handle=partial(handle_cost_recorded, unit_of_work=partial(unit_of_work, pool)),
        producer=producer,
    )
    subscribe_cost_recorded(
        broker, consumer, group_id=settings.consumer_group, max_records=settings.max_records
    )
    return broker
