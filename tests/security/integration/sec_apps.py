"""The four services in this process, on the real test PostgreSQL and Kafka.

Each app runs inside its own lifespan (pool, producer, consumer, relay), is reachable through an
ASGI client (fast, in-process) and through a real loopback port served by uvicorn in the same
event loop (for schemathesis and for the evaluator's HTTP calls to the ledger and the budget).
Settings are built from what each service's `Settings` declares, so fields a service adds later
(keks, rate limits, ledger_url, ...) are set when present and skipped when absent.
"""

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic_settings import BaseSettings
from rex_shared import topics
from rex_shared.kafka import commit_groups_at_end, ensure_topics
from rex_testkit.infra import Infra
from rex_testkit.pg import role_dsns, service_database

SERVICES = ("evaluator", "cost-ledger", "budget", "notifier")
# Services that connect as their request and worker roles (issue 16); the others as the owner.
SPLIT_ROLES = {"notifier", "budget", "evaluator"}
SCHEMAS = {
    "evaluator": "evaluator",
    "cost-ledger": "ledger",
    "budget": "budget",
    "notifier": "notifier",
}


@dataclass
class Served:
    """One running service: its app, an in-process client, a loopback URL, its database."""

    name: str
    app: FastAPI
    http: httpx.AsyncClient
    url: str
    dsn: str
    schema: str
    settings: Any
    openapi: dict[str, Any] = field(default_factory=dict)


def settings_of(cls: type[BaseSettings], values: dict[str, Any]) -> Any:
    """`cls(**values)` keeping only the fields `cls` declares (services grow settings)."""
    known = set(cls.model_fields)
    return cls(**{k: v for k, v in values.items() if k in known})


@asynccontextmanager
async def loopback(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` (lifespan already running) on a free loopback port in this event loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", log_config=None, access_log=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = asyncio.get_running_loop().time() + 10
    while not server.started:
        if task.done() or asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"uvicorn did not start: {task}")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        sock.close()


@dataclass
class Common:
    """What every service's settings share in these tests."""

    infra: Infra
    jwt_secret: str
    keks: str

    def values(self, dsn: str) -> dict[str, Any]:
        group = f"security-{uuid4().hex[:10]}"
        return {
            "env": "test",
            "database_url": dsn,
            "jwt_secret": self.jwt_secret,
            "kafka_bootstrap": self.infra.kafka_bootstrap,
            "consumer_group": group,
            "keks": self.keks,
            # The matrix and schemathesis send thousands of requests a minute on one token.
            "rate_limit_per_principal": 1_000_000,
            "rate_limit_per_org": 1_000_000,
        }


def _evaluator(values: dict[str, Any], extra: dict[str, Any]) -> tuple[Any, FastAPI]:
    from evaluator.bootstrap import create_app
    from evaluator.config import Settings

    if sim := extra.get("sim_url"):  # org keys go to the base URLs: the simulator, never the API
        extra = {"openai_base_url": f"{sim}/v1", "anthropic_base_url": sim, **extra}
    settings = settings_of(
        Settings, {**values, "llm_max_retries": 0, "run_concurrency": 2, **extra}
    )
    return settings, create_app(settings)


def _ledger(values: dict[str, Any], extra: dict[str, Any]) -> tuple[Any, FastAPI]:
    from cost_ledger.bootstrap import create_app
    from cost_ledger.config import Settings

    settings = settings_of(Settings, {**values, "db_schema": "ledger", **extra})
    return settings, create_app(settings)


def _budget(values: dict[str, Any], extra: dict[str, Any]) -> tuple[Any, FastAPI]:
    from budget.bootstrap import create_app
    from budget.config import Settings

    settings = settings_of(Settings, {**values, **extra})
    return settings, create_app(settings)


def _notifier(values: dict[str, Any], extra: dict[str, Any]) -> tuple[Any, FastAPI]:
    from notifier.bootstrap import create_app
    from notifier.config import Settings

    # No channels from settings: this instance must not mail anyone about other tests' alerts.
    local = {
        "email_to": "",
        "slack_webhook_url": "",
        "worker_poll_s": 0.2,
        "backoff_base_s": 0.2,
        "backoff_max_s": 1.0,
        "channel_name": values["consumer_group"],
    }
    settings = settings_of(Settings, {**values, **local, **extra})
    return settings, create_app(settings)


BUILDERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], tuple[Any, FastAPI]]] = {
    "evaluator": _evaluator,
    "cost-ledger": _ledger,
    "budget": _budget,
    "notifier": _notifier,
}


async def database(infra: Infra, service: str) -> str:
    """The service's schema, provisioned and migrated (and the ledger's catalog seeded)."""
    await ensure_topics(infra.kafka_bootstrap, topics.ALL_TOPICS)
    dsn = await service_database(infra, service=service, schema=SCHEMAS[service])
    if service == "cost-ledger":
        from cost_ledger.bootstrap import migrate_and_seed
        from rex_testkit.infra import repo_root

        await migrate_and_seed(dsn, schema="ledger", directory=repo_root() / "migrations" / service)
    return dsn


@asynccontextmanager
async def running(common: Common, service: str, **extra: Any) -> AsyncIterator[Served]:
    """Build, start and serve one service until the block ends."""
    dsn = await database(common.infra, service)
    values = common.values(dsn)
    if service in SPLIT_ROLES:  # the request role serves, the worker role works across orgs
        api, worker = role_dsns(common.infra, schema=SCHEMAS[service])
        values.update(database_url=api, worker_database_url=worker)
    await commit_groups_at_end(common.infra.kafka_bootstrap, [values["consumer_group"]])
    settings, app = BUILDERS[service](values, extra)
    async with AsyncExitStack() as inner:
        await inner.enter_async_context(app.router.lifespan_context(app))
        url = await inner.enter_async_context(loopback(app))
        transport = httpx.ASGITransport(app=app)
        http = await inner.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url=f"http://{service}", timeout=30)
        )
        yield Served(service, app, http, url, dsn, SCHEMAS[service], settings, app.openapi())
