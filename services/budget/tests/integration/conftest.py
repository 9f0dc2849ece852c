"""Integration tier: the budget app in-process on real Kafka and PostgreSQL."""

import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from budget.bootstrap import create_app
from budget.config import SCHEMA, SERVICE, Settings
from fastapi import FastAPI
from rex_shared import topics
from rex_shared.kafka import make_producer
from rex_testkit.infra import Infra
from rex_testkit.kafka import TopicTail, fresh_group
from rex_testkit.pg import service_database, split_dsns

# `budget_it` (helpers) sits next to the tests; pytest's importlib mode does not add this folder.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
async def budget_dsn(infra: Infra) -> AsyncIterator[str]:
    """The budget schema, provisioned and migrated in a database of this session's own.

    The server is shared: any other budget process on it (another engineer's stack, with
    its own Kafka) would relay and consume rows of a shared `budget` schema. A database of
    our own keeps every row of this run ours.
    """
    name = f"budget_it_{uuid4().hex[:10]}"
    admin = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    own = replace(infra, pg_admin_dsn=f"{infra.pg_admin_dsn.rpartition('/')[0]}/{name}")
    yield await service_database(own, service=SERVICE, schema=SCHEMA)
    admin = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def consumer_group(infra: Infra, producer: AIOKafkaProducer) -> str:
    # A consumer group of its own, starting at the topic's end: no other budget instance on
    # this broker takes our events, and earlier runs' events are not replayed.
    return await fresh_group(infra.kafka_bootstrap, [topics.LLM_COST_RECORDED], prefix="budget-it")


@pytest.fixture(scope="session")
def settings(infra: Infra, budget_dsn: str, jwt_secret: str, consumer_group: str) -> Settings:
    api, worker = split_dsns(budget_dsn, schema=SCHEMA)
    return Settings(
        database_url=api,
        worker_database_url=worker,
        migrate_database_url=budget_dsn,
        kafka_bootstrap=infra.kafka_bootstrap,
        jwt_secret=jwt_secret,
        env="test",
        consumer_group=consumer_group,
        rate_limit_per_principal=0,  # tests send more than a person would; limits: own test
        sweep_interval_s=1.0,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The whole service (API, consumer, outbox relay) for the session."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://budget") as c:
        yield c


@pytest.fixture(scope="session")
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    """Publishes what the cost ledger would."""
    kafka = make_producer(infra.kafka_bootstrap, client_id="budget-tests")
    await kafka.start()
    yield kafka
    await kafka.stop()


@pytest.fixture(scope="session")
async def db(budget_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool of our own for looking behind the API (sees every org)."""
    # Tests look at every org's rows: the session bypasses row-level security.
    pool = await asyncpg.create_pool(
        budget_dsn,
        min_size=1,
        max_size=4,
        server_settings={"search_path": SCHEMA, "app.rls_bypass": "on"},
    )
    assert pool is not None
    yield pool
    await pool.close()


@pytest.fixture
def org() -> str:
    """A fresh organization per test, so tests never see each other's data."""
    return f"org-{uuid4().hex[:12]}"


@pytest.fixture
def admin(org: str, auth_headers: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth_headers(org, "alice", ("admin",))


@pytest.fixture(scope="session")
async def second_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Another instance of the service: its own app and its own pool on the same database
    (API only; the first instance consumes)."""
    other = create_app(settings.model_copy(update={"consumer_enabled": False}))
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://budget-2") as c:
            yield c


def _tail_of(topic: str) -> Any:
    """A fixture: `topic` read from the start of the test on (opened once `app` is up)."""

    @pytest.fixture
    async def tail(
        app: FastAPI, infra: Infra, producer: AIOKafkaProducer
    ) -> AsyncIterator[TopicTail]:
        async with await TopicTail.open(infra.kafka_bootstrap, topic) as opened:
            yield opened

    return tail


crossings = _tail_of(topics.BUDGET_THRESHOLD_CROSSED)
closings = _tail_of(topics.BUDGET_PERIOD_CLOSED)
forecasts = _tail_of(topics.BUDGET_FORECAST_EXCEEDED)
