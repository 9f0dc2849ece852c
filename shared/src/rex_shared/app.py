"""Build a service's FastAPI app the same way everywhere: envelope, errors, metrics, ops."""

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI

from rex_shared.api import (
    ReadyCheck,
    install_error_handlers,
    install_metrics_middleware,
    ops_router,
)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_app(
    *,
    service: str,
    title: str,
    lifespan: Lifespan | None,
    routers: Sequence[APIRouter],
    checks: dict[str, ReadyCheck],
) -> FastAPI:
    """A FastAPI app with the shared conventions and the service's routers."""
    app = FastAPI(title=title, lifespan=lifespan, version="0.1.0")
    install_error_handlers(app)
    install_metrics_middleware(app, service)
    app.include_router(ops_router(checks))
    for router in routers:
        app.include_router(router)
    return app


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
