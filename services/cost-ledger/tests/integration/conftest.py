"""The ledger app in-process against real Kafka and PostgreSQL, on a throwaway schema and group."""

import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from cost_ledger.bootstrap import create_app, migrate_and_seed
from cost_ledger.config import Settings
from fastapi import FastAPI
from jsonschema import Draft202012Validator, FormatChecker
from rex_shared import cloudevents, topics
from rex_shared.events import LlmCallCompleted, Usage
from rex_shared.kafka import commit_groups_at_end, ensure_topics
from rex_testkit.infra import Infra
from rex_testkit.pg import drop_schema, scratch_schema

MIGRATIONS = Settings(database_url="postgresql://x@y/z").migrations_path()


def llm_call(org: str, evaluation: UUID | None, *, at: datetime, **fields: Any) -> LlmCallCompleted:
    """A succeeded OpenAI gpt-4o `llm.call.completed` of `org` at `at`; `fields` change it."""
    data: dict[str, Any] = {
        "call_id": uuid4(), "evaluation_id": evaluation, "metric": "faithfulness",
        "org_id": org, "project_id": "proj", "user_id": "user-1", "provider": "openai",
        "model": "gpt-4o-2024-08-06", "requested_model": "gpt-4o", "api": "chat.completions",
        "started_at": at, "completed_at": at, "latency_ms": 400, "status": "succeeded",
        "usage": Usage(input_tokens=10_000, output_tokens=1_000), "row_index": 0,
    }  # fmt: skip
    return LlmCallCompleted(**{**data, **fields})


async def publish_calls(producer: AIOKafkaProducer, events: Iterable[LlmCallCompleted]) -> None:
    """Each call on its topic, keyed by its id."""
    for event in events:
        key = str(event.call_id)
        out = cloudevents.build(event, source="test", event_id=key, key=key)
        await producer.send_and_wait(out.topic, value=out.data, key=key.encode(),
                                     headers=out.headers())  # fmt: skip


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    """Where each partition of `topic` ends now."""
    probe = AIOKafkaProducer(bootstrap_servers=bootstrap)  # partitions_for loads metadata
    await probe.start()
    try:
        tps = [TopicPartition(topic, p) for p in await probe.partitions_for(topic)]
    finally:
        await probe.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


@pytest.fixture(scope="session")
async def ledger_db(infra: Infra) -> AsyncIterator[tuple[str, str]]:
    """A migrated and seeded ledger schema for the session: (schema, dsn)."""
    schema, dsn = await scratch_schema(infra, "ledger_t")
    await migrate_and_seed(dsn, schema=schema, directory=MIGRATIONS)
    yield schema, dsn
    await drop_schema(infra, schema)


@pytest.fixture(scope="session")
async def ledger_app(
    infra: Infra, ledger_db: tuple[str, str], jwt_secret: str
) -> AsyncIterator[FastAPI]:
    """The app with its lifespan running: consumer, outbox relay and all."""
    schema, dsn = ledger_db
    tag = secrets.token_hex(4)
    group = f"cost-ledger-test-{tag}"
    # Other ledgers (other test sessions on this broker) also price our calls and announce them
    # with the same deterministic ids; our own cost events go to a topic only we read.
    cost_topic = f"{topics.LLM_COST_RECORDED}.test-{tag}"
    wanted = [topics.LLM_CALL_COMPLETED, cost_topic]
    await ensure_topics(infra.kafka_bootstrap, wanted)
    await commit_groups_at_end(infra.kafka_bootstrap, [group], [topics.LLM_CALL_COMPLETED])
    settings = Settings(
        env="test", database_url=dsn, db_schema=schema, kafka_bootstrap=infra.kafka_bootstrap,
        jwt_secret=jwt_secret, consumer_group=group, cost_topic=cost_topic,
        catalog_admin_orgs=frozenset({"catalog-admins"}), rate_limit_per_principal=40,
        rate_limit_per_org=100_000,
    )  # type: ignore[arg-type]  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app
    await delete_topics(infra.kafka_bootstrap, [cost_topic, topics.dlq(cost_topic)])


FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def documented_replies(app: FastAPI) -> Callable[[httpx.Response], Awaitable[None]]:
    """A response hook: every 2xx JSON reply of /api/v1 must match the schema the app's OpenAPI
    document gives for it (so every test that reads a reply checks the document too)."""
    spec = app.openapi()
    routes = [(re.compile("^" + re.sub(r"{[^}]+}", "[^/]+", path) + "$"), item)
              for path, item in spec["paths"].items() if path.startswith("/api/v1")]  # fmt: skip

    async def check(response: httpx.Response) -> None:
        kind = response.headers.get("content-type", "")
        if not response.is_success or not kind.startswith("application/json"):
            return
        path, method = response.request.url.path, response.request.method.lower()
        item = next((item for pattern, item in routes if pattern.match(path)), None)
        if item is None:
            return
        await response.aread()
        reply = item[method]["responses"][str(response.status_code)]["content"]
        schema: dict[str, Any] = {**reply["application/json"]["schema"],
                                  "components": spec["components"]}  # fmt: skip
        Draft202012Validator(schema, format_checker=FORMATS).validate(response.json())

    return check


@pytest.fixture
async def client(ledger_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=ledger_app)
    hooks = {"response": [documented_replies(ledger_app)]}
    async with httpx.AsyncClient(transport=transport, base_url="http://ledger",
                                 event_hooks=hooks) as http:  # fmt: skip
        yield http


@pytest.fixture(scope="session")
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await kafka.start()
    yield kafka
    await kafka.stop()


@pytest.fixture
async def db(ledger_db: tuple[str, str]) -> AsyncIterator[asyncpg.Connection]:
    schema, dsn = ledger_db
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    # The tables are under FORCEd row-level security: a test reading across orgs says so.
    await conn.execute("SELECT set_config('app.rls_bypass', 'on', false)")
    yield conn
    await conn.close()


@pytest.fixture
async def fresh_schema(infra: Infra) -> AsyncIterator[tuple[str, str]]:
    """An empty schema and its role, dropped afterwards: (schema, dsn)."""
    schema, dsn = await scratch_schema(infra, "ledger_t")
    yield schema, dsn
    await drop_schema(infra, schema)


TopicEnd = Callable[[str], Awaitable[dict[TopicPartition, int]]]


@pytest.fixture
def topic_end(infra: Infra) -> TopicEnd:
    """Where each partition of a topic ends now (read new records from there)."""
    return partial(end_offsets, infra.kafka_bootstrap)


@pytest.fixture
def org() -> str:
    return f"org-{secrets.token_hex(6)}"
