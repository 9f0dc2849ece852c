"""Real PostgreSQL and Kafka, the simulator as a real HTTP server, the app in-process."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord
from evaluator.bootstrap import create_app
from evaluator.config import SCHEMA, Settings
from fastapi import FastAPI
from llm_sim.server import running
from rex_shared import topics
from rex_shared.kafka import ensure_topics
from rex_shared.testing.infra import Infra
from rex_shared.testing.pg import service_database


@pytest.fixture(scope="session")
def sim_url() -> Iterator[str]:
    with running() as url:
        yield url


@pytest.fixture(scope="session")
async def evaluator_dsn(infra: Infra) -> str:
    await ensure_topics(infra.kafka_bootstrap, topics.ALL_TOPICS)
    return await service_database(infra, service="evaluator", schema=SCHEMA)


@dataclass
class Running:
    """The evaluator app inside its lifespan, and an HTTP client on it."""

    app: FastAPI
    http: httpx.AsyncClient
    dsn: str


@pytest.fixture
def serve_evaluator(
    infra: Infra, evaluator_dsn: str, sim_url: str, jwt_secret: str
) -> Callable[..., AbstractAsyncContextManager[Running]]:
    """`async with serve_evaluator(**settings_overrides) as running:` the app in its lifespan."""

    @asynccontextmanager
    async def serve(**overrides: Any) -> AsyncIterator[Running]:
        defaults: dict[str, Any] = {
            "env": "test",
            "database_url": evaluator_dsn,
            "jwt_secret": jwt_secret,
            "kafka_bootstrap": infra.kafka_bootstrap,
            "sim_url": sim_url,
            "llm_max_retries": 1,
        }
        app = create_app(Settings(**{**defaults, **overrides}))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://evaluator") as http:
                yield Running(app, http, evaluator_dsn)

    return serve


@pytest.fixture
async def evaluator(
    serve_evaluator: Callable[..., AbstractAsyncContextManager[Running]],
) -> AsyncIterator[Running]:
    async with serve_evaluator() as running_app:
        yield running_app


class TopicTail:
    """Reads a topic from where it ended when the tail was opened."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer

    async def collect(
        self, keep: Callable[[ConsumerRecord], bool], want: int, timeout_s: float = 30.0
    ) -> list[ConsumerRecord]:
        """Records passing `keep` until `want` arrived, plus a moment more to catch duplicates."""
        found: list[ConsumerRecord] = []
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(found) < want and asyncio.get_running_loop().time() < deadline:
            found += await self._poll(keep)
        found += await self._poll(keep)
        return found

    async def _poll(self, keep: Callable[[ConsumerRecord], bool]) -> list[ConsumerRecord]:
        batch = await self._consumer.getmany(timeout_ms=500)
        return [r for records in batch.values() for r in records if keep(r)]


async def _partitions(infra: Infra, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [p["partition"] for p in described["partitions"]]


@pytest.fixture
async def tail(infra: Infra) -> AsyncIterator[Callable[[str], Any]]:
    consumers: list[AIOKafkaConsumer] = []

    async def open_tail(topic: str) -> TopicTail:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=infra.kafka_bootstrap, enable_auto_commit=False
        )
        await consumer.start()
        consumers.append(consumer)
        parts = [TopicPartition(topic, p) for p in await _partitions(infra, topic)]
        consumer.assign(parts)
        for part, offset in (await consumer.end_offsets(parts)).items():
            consumer.seek(part, offset)
        return TopicTail(consumer)

    yield open_tail
    for consumer in consumers:
        await consumer.stop()


async def _wait_finished(
    http: httpx.AsyncClient, evaluation_id: str, headers: dict[str, str], timeout_s: float = 60.0
) -> dict[str, Any]:
    """Poll the evaluation until it leaves queued/running."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        reply = await http.get(f"/api/v1/evaluations/{evaluation_id}", headers=headers)
        data: dict[str, Any] = reply.json()["data"]
        if data["status"] not in ("queued", "running"):
            return data
        await asyncio.sleep(0.1)
    raise AssertionError(f"evaluation {evaluation_id} did not finish in {timeout_s}s")


async def _fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


@pytest.fixture
def wait_finished() -> Callable[..., Any]:
    """`await wait_finished(http, id, headers)`: the evaluation once it is done."""
    return _wait_finished


@pytest.fixture
def fetch() -> Callable[..., Any]:
    """`await fetch(dsn, sql, *args)`: rows from the evaluator's schema."""
    return _fetch
