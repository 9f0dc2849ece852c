"""Integration tier: the budget app in-process on real Kafka and PostgreSQL."""

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from budget.bootstrap import create_app
from budget.config import SCHEMA, SERVICE, Settings
from fastapi import FastAPI
from rex_shared.kafka import make_producer
from rex_shared.testing.infra import Infra
from rex_shared.testing.pg import service_database

# `budget_it` (helpers) sits next to the tests; pytest's importlib mode does not add this folder.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
async def budget_dsn(infra: Infra) -> str:
    """The budget schema, provisioned and migrated."""
    return await service_database(infra, service=SERVICE, schema=SCHEMA)


@pytest.fixture(scope="session")
def settings(infra: Infra, budget_dsn: str, jwt_secret: str) -> Settings:
    # A consumer group of its own: no other budget instance on this broker takes our events.
    return Settings(
        database_url=budget_dsn,
        kafka_bootstrap=infra.kafka_bootstrap,
        jwt_secret=jwt_secret,
        env="test",
        consumer_group=f"budget-it-{uuid4().hex[:8]}",
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
    """A pool of our own for looking behind the API."""
    pool = await asyncpg.create_pool(
        budget_dsn, min_size=1, max_size=4, server_settings={"search_path": SCHEMA}
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
