"""Build a service's FastAPI app the same way everywhere: envelope, errors, metrics, ops."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI

from rex_shared.api import ReadyCheck, install_error_handlers, ops_router
from rex_shared.http_metrics import install_metrics_middleware
from rex_shared.openapi_errors import document_errors

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def build_app(
    *,
    service: str,
    title: str,
    lifespan: Lifespan | None,
    routers: Sequence[APIRouter],
    checks: dict[str, ReadyCheck],
) -> FastAPI:
    """A FastAPI app with the shared conventions and the service's routers."""
    app = FastAPI(title=title, lifespan=draining_lifespan(lifespan), version="0.1.0")
    app.state.service, app.state.draining = service, False
    install_error_handlers(app)
    document_errors(app)  # the OpenAPI document shows the envelope those handlers send
    install_metrics_middleware(app, service)
    app.include_router(ops_router(checks))
    for router in routers:
        app.include_router(router)
    return app


def draining_lifespan(inner: Lifespan | None) -> Lifespan:
    """The service's lifespan, with `app.state.draining` set as soon as shutdown begins.

    `/ready` answers 503 from then on, while the service's own shutdown (stop consuming,
    finish the batch, commit, close) runs.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        app.state.draining = False
        async with AsyncExitStack() as stack:
            state = await stack.enter_async_context(inner(app)) if inner else None
            try:
                yield state
            finally:
                app.state.draining = True

    return lifespan


def pg_check(pool_ref: Callable[[], asyncpg.Pool | None]) -> ReadyCheck:
    """Ready when the pool answers a query."""

    async def check() -> None:
        pool = pool_ref()
        if pool is None:
            raise RuntimeError("no database pool")
        await pool.fetchval("SELECT 1")

    return check


def kafka_check(producer_ref: Callable[[], AIOKafkaProducer | None]) -> ReadyCheck:
    """Ready when the broker returns cluster metadata."""

    async def check() -> None:
        producer = producer_ref()
        if producer is None:
            raise RuntimeError("no Kafka producer")
        ok: Any = await producer.client.force_metadata_update()
        if not ok:
            raise RuntimeError("Kafka metadata unavailable")

    return check
