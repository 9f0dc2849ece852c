"""Builds the evaluator: pool, LLM clients, runs, Kafka producer and outbox relay; the only
place that creates real adapters."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from rex_shared import topics
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier, principal_dependency
from rex_shared.db import create_pool
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.outbox import OutboxRelay

from evaluator.adapters.evaluation_repo import PgEvaluationRepo
from evaluator.adapters.llm_anthropic import AnthropicMessages
from evaluator.adapters.llm_openai import OpenAiChat
from evaluator.adapters.run_store import PgRunStore
from evaluator.background import RunScheduler
from evaluator.config import SCHEMA, Settings
from evaluator.entrypoints.api import ApiDeps, build_router
from evaluator.ports import LlmClient
from evaluator.runner import RunDeps, run_evaluation

log = logging.getLogger(__name__)

PRODUCES = (topics.LLM_CALL_COMPLETED, topics.EVALUATION_COMPLETED)


def llm_clients(settings: Settings) -> dict[str, LlmClient]:
    """One client per provider: the real API with a key, the simulator without."""
    openai_url, openai_key = settings.openai_endpoint()
    anthropic_url, anthropic_key = settings.anthropic_endpoint()
    return {
        "openai": OpenAiChat.connect(
            base_url=openai_url,
            api_key=openai_key,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        ),
        "anthropic": AnthropicMessages.connect(
            base_url=anthropic_url,
            api_key=anthropic_key,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        ),
    }


@dataclass
class Runtime:
    """What the lifespan holds while the app runs."""

    pool: asyncpg.Pool | None = None
    producer: AIOKafkaProducer | None = None
    relay: OutboxRelay | None = None
    scheduler: RunScheduler | None = None
    api: ApiDeps | None = None
    clients: dict[str, LlmClient] = field(default_factory=dict)


async def _connect_kafka(settings: Settings, rt: Runtime) -> None:
    """Keep trying until Kafka answers: meanwhile events wait in the outbox, none are lost."""
    delay = 0.5
    while True:
        producer = make_producer(settings.kafka_bootstrap, client_id="rex-evaluator")
        try:
            await ensure_topics(
                settings.kafka_bootstrap, PRODUCES, partitions=settings.kafka_partitions
            )
            await producer.start()
            break
        except Exception as exc:
            await producer.stop()
            log.warning("Kafka not reachable (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    assert rt.pool is not None
    rt.producer = producer
    rt.relay = OutboxRelay(rt.pool, producer, schema=SCHEMA)
    await rt.relay.start()


def _wire(settings: Settings, rt: Runtime, pool: asyncpg.Pool) -> None:
    rt.pool, rt.clients = pool, llm_clients(settings)
    deps = RunDeps(
        store=PgRunStore(pool),
        clients=rt.clients,
        concurrency=settings.run_concurrency,
        max_tokens=settings.judge_max_tokens,
    )

    async def run(evaluation_id: UUID) -> None:
        await run_evaluation(evaluation_id, deps=deps)

    rt.scheduler = RunScheduler(run)
    rt.api = ApiDeps(PgEvaluationRepo(pool), rt.scheduler.submit, settings.max_rows)


async def _shutdown(rt: Runtime, kafka: asyncio.Task[None]) -> None:
    # Runs first (they write to the outbox), then the relay, then the connections.
    if rt.scheduler:
        await rt.scheduler.stop()
    kafka.cancel()
    with suppress(asyncio.CancelledError):
        await kafka
    if rt.relay:
        await rt.relay.stop()
    if rt.producer:
        await rt.producer.stop()
    for client in rt.clients.values():
        await client.close()
    if rt.pool:
        await rt.pool.close()


def create_app(settings: Settings) -> FastAPI:
    """The evaluator's FastAPI app; connections open in its lifespan."""
    rt = Runtime()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _wire(settings, rt, await create_pool(settings.database_url, schema=SCHEMA))
        kafka = asyncio.create_task(_connect_kafka(settings, rt), name="evaluator-kafka")
        try:
            yield
        finally:
            await _shutdown(rt, kafka)

    def api_deps() -> ApiDeps:
        if rt.api is None:
            raise RuntimeError("the evaluator is not started")
        return rt.api

    verifier = JwtVerifier(settings.jwt_secret.get_secret_value() or "local-dev-secret")
    app = build_app(
        service="evaluator",
        title="REX evaluator",
        lifespan=lifespan,
        routers=[build_router(api_deps, principal_dependency(verifier))],
        checks={"database": pg_check(lambda: rt.pool), "kafka": kafka_check(lambda: rt.producer)},
    )
    app.state.runtime = rt
    return app
