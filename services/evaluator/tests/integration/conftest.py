"""Real PostgreSQL and Kafka, the simulator as a real HTTP server, the app in-process."""

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from budget.bootstrap import create_app as create_budget
from budget.config import Settings as BudgetSettings
from cost_ledger.bootstrap import create_app as create_ledger
from cost_ledger.bootstrap import migrate_and_seed
from cost_ledger.config import Settings as LedgerSettings
from evaluator.bootstrap import create_app
from evaluator.config import SCHEMA, Settings
from fastapi import FastAPI
from llm_sim.server import running
from rex_shared import topics
from rex_shared.kafka import commit_groups_at_end, ensure_topics
from rex_testkit.infra import Infra, repo_root
from rex_testkit.kafka import TopicTail
from rex_testkit.pg import drop_schema, scratch_schema, service_database, split_dsns

# `evaluator_peers` (helpers) sits next to the tests; importlib mode does not add this folder.
sys.path.insert(0, str(Path(__file__).parent))
import evaluator_peers as peers


@pytest.fixture(scope="session")
def sim_url() -> Iterator[str]:
    with running() as url:
        yield url


@pytest.fixture(scope="session")
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[peers.OwnKafka]:
    """A broker of our own to stop and start (never the shared one); started early."""
    kafka = peers.OwnKafka(repo_root(), tmp_path_factory.mktemp("own-kafka"))
    kafka.starting = kafka.start_in_background()
    yield kafka
    kafka.starting.join()
    kafka.stop()


@pytest.fixture(scope="session", autouse=True)
def _warm_up_own_kafka(request: pytest.FixtureRequest) -> None:
    # The JVM takes ~10 s to start: begin at session start when a test will need it.
    if any("own_kafka" in getattr(i, "fixturenames", ()) for i in request.session.items):
        request.getfixturevalue("own_kafka")


@pytest.fixture(scope="session")
async def evaluator_dsn(infra: Infra) -> str:
    await ensure_topics(infra.kafka_bootstrap, topics.ALL_TOPICS)
    return await service_database(infra, service="evaluator", schema=SCHEMA)


async def _peer_settings(infra: Infra, jwt_secret: str, peer: str, topic: str) -> dict[str, Any]:
    """A peer service's test settings, consuming `topic` in a group of its own from its end."""
    group = peers.fresh_group(peer)
    await commit_groups_at_end(infra.kafka_bootstrap, [group], [topic])
    return {
        "env": "test",
        "kafka_bootstrap": infra.kafka_bootstrap,
        "jwt_secret": jwt_secret,
        "consumer_group": group,
    }


@pytest.fixture(scope="session")
async def ledger_url(infra: Infra, jwt_secret: str) -> AsyncIterator[str]:
    """The real cost ledger (estimates, actual costs) on a scratch schema, as a server."""
    schema, dsn = await scratch_schema(infra, "ledger_ev")
    directory = LedgerSettings(database_url="postgresql://x@y/z").migrations_path()
    await migrate_and_seed(dsn, schema=schema, directory=directory)
    common = await _peer_settings(infra, jwt_secret, "ledger", topics.LLM_CALL_COMPLETED)
    settings = LedgerSettings(database_url=dsn, db_schema=schema, **common)
    with peers.serving(create_ledger(settings)) as url:
        yield url
    await drop_schema(infra, schema)


@pytest.fixture(scope="session")
async def budget_url(infra: Infra, jwt_secret: str) -> AsyncIterator[str]:
    """The real budget service (reservations), as a server."""
    dsn = await service_database(infra, service="budget", schema="budget")
    common = await _peer_settings(infra, jwt_secret, "budget", topics.LLM_COST_RECORDED)
    api, worker = split_dsns(dsn, schema="budget")  # the budget serves as its request role
    settings = BudgetSettings(database_url=api, worker_database_url=worker, **common)
    with peers.serving(create_budget(settings)) as url:
        yield url


@dataclass
class Running:
    """The evaluator app inside its lifespan, and an HTTP client on it."""

    app: FastAPI
    http: httpx.AsyncClient
    dsn: str


@pytest.fixture
def serve_evaluator(
    infra: Infra,
    evaluator_dsn: str,
    sim_url: str,
    jwt_secret: str,
    ledger_url: str,
    budget_url: str,
    documented_replies: Callable[[FastAPI], Any],
) -> Callable[..., AbstractAsyncContextManager[Running]]:
    """`async with serve_evaluator(**settings_overrides) as running:` the app in its lifespan."""

    @asynccontextmanager
    async def serve(**overrides: Any) -> AsyncIterator[Running]:
        request, worker = split_dsns(evaluator_dsn, schema=SCHEMA)
        defaults: dict[str, Any] = {
            "env": "test",
            "database_url": request,
            "worker_database_url": worker,
            "migrate_database_url": evaluator_dsn,
            "jwt_secret": jwt_secret,
            "kafka_bootstrap": infra.kafka_bootstrap,
            "sim_url": sim_url,
            "llm_max_retries": 1,
            "llm_backoff_base_s": 0.05,
            "ledger_url": ledger_url,
            "budget_url": budget_url,
            "maintenance_interval_s": 0.5,
        }
        app = create_app(Settings(**{**defaults, **overrides}))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            # Every success reply is also checked against the model its route documents.
            hooks = {"response": [documented_replies(app)]}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://evaluator", event_hooks=hooks
            ) as http:
                yield Running(app, http, evaluator_dsn)

    return serve


@pytest.fixture
async def evaluator(
    serve_evaluator: Callable[..., AbstractAsyncContextManager[Running]],
) -> AsyncIterator[Running]:
    async with serve_evaluator() as running_app:
        yield running_app


@pytest.fixture
async def tail(infra: Infra) -> AsyncIterator[Callable[[str], Any]]:
    """`await tail(topic)`: a TopicTail on `topic`, closed after the test."""
    tails: list[TopicTail] = []

    async def open_tail(topic: str) -> TopicTail:
        tails.append(await TopicTail.open(infra.kafka_bootstrap, topic))
        return tails[-1]

    yield open_tail
    for opened in tails:
        await opened.close()


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
