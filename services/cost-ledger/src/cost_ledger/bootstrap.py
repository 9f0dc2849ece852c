"""The composition root: builds the pool, producer, adapters, price book, consumers, outbox
relay and app, and hands routes one `Deps`. Every real adapter can be replaced by a keyword
argument of `create_app` / `build_deps` (tests pass fakes or a lent pool and producer)."""

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Request
from rex_shared import db
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier, Principal, principal_dependency
from rex_shared.clock import Clock, utcnow
from rex_shared.consuming import ConsumerLoop
from rex_shared.kafka import ensure_topics, make_producer, send_events_batched
from rex_shared.outbox import OutboxRelay
from rex_shared.runtime import settle_gc
from rex_shared.security import HttpPolicy, RateLimiter, install_http_policy

from cost_ledger.adapters import metrics
from cost_ledger.adapters.catalog_repo import PgCatalog, upsert_rows
from cost_ledger.adapters.costs_repo import PgCostReports
from cost_ledger.adapters.ledger_repo import PgLedgerStore
from cost_ledger.config import Settings
from cost_ledger.domain.catalog import seed_rows
from cost_ledger.entrypoints import kafka, workers
from cost_ledger.handlers.ingest import record_calls
from cost_ledger.handlers.prices import PriceBooks
from cost_ledger.ports import Catalog, CostReports, LedgerStore

log = logging.getLogger(__name__)
SERVICE = "cost-ledger"


@dataclass
class Deps:
    """What handlers and routes need; the pool and producer are open while the app runs (None
    before, unless lent)."""

    settings: Settings
    verify: Callable[[Request], Coroutine[Any, Any, Principal]]
    store: LedgerStore
    catalog: Catalog
    reports: CostReports
    prices: PriceBooks
    now: Clock = utcnow
    observe: Callable[[list[Any]], None] = metrics.observe_added
    pool: asyncpg.Pool | None = None
    producer: AIOKafkaProducer | None = None

    def db(self) -> asyncpg.Pool:
        """The open pool."""
        if self.pool is None:
            raise RuntimeError("the database pool is not open")
        return self.pool


def build_deps(
    settings: Settings, *, pool: asyncpg.Pool | None = None,
    producer: AIOKafkaProducer | None = None, store: LedgerStore | None = None,
    catalog: Catalog | None = None, reports: CostReports | None = None, now: Clock = utcnow,
) -> Deps:  # fmt: skip
    """The real adapters on the pool the lifespan opens, unless given."""
    s = settings

    def db() -> asyncpg.Pool:  # the adapters ask for the pool when they run, not now
        return deps.db()

    verifier = JwtVerifier(s.jwt_secret.get_secret_value(), jwks_url=s.jwks_url)
    catalog = catalog or PgCatalog(db)
    deps = Deps(
        settings=s, verify=principal_dependency(verifier),
        store=store or PgLedgerStore(db, schema=s.db_schema, cost_topic=s.cost_topic),
        catalog=catalog, reports=reports or PgCostReports(db), prices=PriceBooks(catalog),
        now=now, pool=pool, producer=producer,
    )  # fmt: skip
    return deps


def calls_consumers(deps: Deps) -> list[ConsumerLoop]:
    """The group members of this process, each with its own BatchConsumer around record_calls."""
    assert deps.producer is not None
    handle = partial(record_calls, store=deps.store, book=deps.prices.book, now=deps.now,
                     observe=deps.observe, observe_lag=metrics.observe_lag)  # fmt: skip
    return kafka.calls_consumers(deps.settings, deps.producer, handle, service=SERVICE)


async def _open(deps: Deps, stack: AsyncExitStack) -> tuple[asyncpg.Pool, AIOKafkaProducer]:
    """Open the pool and start the producer, unless lent (a lent one is never closed here)."""
    s = deps.settings
    if deps.pool is None:
        deps.pool = await db.create_pool(s.database_url, schema=s.db_schema,
                                         max_size=s.db_pool_max)  # fmt: skip
        stack.push_async_callback(deps.pool.close)
    if deps.producer is None:
        deps.producer = make_producer(s.kafka_bootstrap, client_id=SERVICE)
        await deps.producer.start()
        stack.push_async_callback(deps.producer.stop)
    return deps.pool, deps.producer


@asynccontextmanager
async def _lifespan(deps: Deps) -> AsyncIterator[None]:
    """Start everything in dependency order; the exit stack stops it in reverse."""
    s = deps.settings
    async with AsyncExitStack() as stack:
        pool, producer = await _open(deps, stack)
        await ensure_topics(s.kafka_bootstrap, [s.calls_topic, s.cost_topic],
                            partitions=s.kafka_partitions)  # fmt: skip
        await deps.prices.reload()
        workers.run_until_exit(
            stack, workers.reload_prices_forever(deps.prices.reload, s.price_reload_s)
        )
        workers.run_until_exit(stack, workers.refresh_top_evaluations_forever(
            partial(metrics.refresh_top_evaluations, pool)))  # fmt: skip
        # Big relay batches, sent as record batches, keep up with the consumer at full ingest.
        relay = OutboxRelay(pool, producer, schema=s.db_schema, batch_size=5000,
                            sender=send_events_batched)  # fmt: skip
        await relay.start()
        stack.push_async_callback(relay.stop)
        # Group members in this process (one by default): each keeps `consumer_depth`
        # batches in flight, so one is priced while another waits for PostgreSQL.
        for calls in calls_consumers(deps):
            await calls.start()
            stack.push_async_callback(calls.stop)  # first to stop: no batch half done
        if s.gc_freeze:
            settle_gc()
        log.info("cost-ledger started with %d catalog rows", deps.prices.book().size)
        yield


def create_app(
    settings: Settings, *, pool: asyncpg.Pool | None = None,
    producer: AIOKafkaProducer | None = None, store: LedgerStore | None = None,
    catalog: Catalog | None = None, reports: CostReports | None = None, now: Clock = utcnow,
) -> FastAPI:  # fmt: skip
    """The ledger's FastAPI app; its lifespan runs the consumers, the outbox relay and loops."""
    from cost_ledger.entrypoints import http  # its deps module imports this one (Deps)

    s = settings
    deps = build_deps(s, pool=pool, producer=producer, store=store, catalog=catalog,
                      reports=reports, now=now)  # fmt: skip
    limiter = RateLimiter(lambda: deps.pool, per_principal=s.rate_limit_per_principal,
                          per_org=s.rate_limit_per_org)  # fmt: skip
    # Every route: authenticated (the limiter's dependency verifies the token, 401 otherwise),
    # then counted against the rate limits.
    v1 = APIRouter(dependencies=[Depends(limiter.dependency(deps.verify))])
    for router in http.routers():
        v1.include_router(router)
    app = build_app(
        service=SERVICE, title="REX cost ledger", lifespan=lambda _: _lifespan(deps),
        routers=[v1],
        checks={"postgres": pg_check(lambda: deps.pool),
                "kafka": kafka_check(lambda: deps.producer)},
    )  # fmt: skip
    install_http_policy(app, HttpPolicy(max_body_bytes=s.max_body_bytes,
                                        security_headers=s.send_security_headers(),
                                        require_https=s.https_only()))  # fmt: skip
    app.state.deps = deps
    return app


async def migrate_and_seed(dsn: str, *, schema: str, directory: Path) -> list[str]:
    """`migrate`: apply the migrations, then seed the price catalog. Idempotent and safe to run
    from several processes at once; returns the migrations applied."""
    applied = await db.migrate(dsn, schema=schema, directory=directory)
    rows = seed_rows()
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        await upsert_rows(conn, rows)
    finally:
        await conn.close()
    log.info("schema %s: applied %s, catalog seeded with %d rows", schema, applied, len(rows))
    return applied
