"""Wires the real adapters: pool, producer, topics, price book, consumers, outbox relay, app."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from functools import partial

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier
from rex_shared.clock import utcnow
from rex_shared.consumer import BatchConsumer, fast_decode
from rex_shared.db import create_pool
from rex_shared.events import LlmCallCompleted
from rex_shared.kafka import ensure_topics, make_producer, send_events_batched
from rex_shared.outbox import OutboxRelay
from rex_shared.runtime import settle_gc
from rex_shared.security import HttpPolicy, RateLimiter, install_http_policy

from cost_ledger.adapters import metrics
from cost_ledger.adapters.catalog_repo import load_rows
from cost_ledger.adapters.ledger_repo import PgLedgerStore
from cost_ledger.config import Settings
from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.pricebook import PriceBook
from cost_ledger.entrypoints import api, consumer
from cost_ledger.entrypoints.deps import Deps
from cost_ledger.handlers import record_calls

log = logging.getLogger(__name__)
SERVICE = "cost-ledger"


class Runtime:
    """What the lifespan builds; routes and checks read it through small getters."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.resolver = ModelResolver()
        self.pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        self.book = PriceBook((), self.resolver)

    def get_pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("the database pool is not open")
        return self.pool

    def get_book(self) -> PriceBook:
        return self.book

    def get_store(self) -> PgLedgerStore:
        s = self.settings
        return PgLedgerStore(self.get_pool(), schema=s.db_schema, cost_topic=s.cost_topic)

    async def reload_prices(self) -> None:
        """Swap in a fresh price book from the catalog table."""
        self.book = PriceBook(await load_rows(self.get_pool()), self.resolver)

    async def _reload_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.price_reload_s)
            try:
                await self.reload_prices()
            except Exception as exc:  # keep the last good book; try again next time
                log.warning("price catalog reload failed: %s", exc)

    async def _top_evaluations_forever(self) -> None:
        while True:
            try:
                await metrics.refresh_top_evaluations(self.get_pool())
            except Exception as exc:  # a dashboard figure: never worth stopping the service
                log.warning("top-evaluations gauge refresh failed: %s", exc)
            await asyncio.sleep(15)

    @asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        """Start everything in dependency order; the exit stack stops it in reverse."""
        s = self.settings
        async with AsyncExitStack() as stack:
            self.pool = await create_pool(s.database_url, schema=s.db_schema,
                                          max_size=s.db_pool_max)  # fmt: skip
            stack.push_async_callback(self.pool.close)
            self.producer = make_producer(s.kafka_bootstrap, client_id=SERVICE)
            await self.producer.start()
            stack.push_async_callback(self.producer.stop)
            await ensure_topics(s.kafka_bootstrap, [s.calls_topic, s.cost_topic],
                                partitions=s.kafka_partitions)  # fmt: skip
            await self.reload_prices()
            stack.push_async_callback(_cancel, asyncio.create_task(self._reload_forever()))
            stack.push_async_callback(_cancel, asyncio.create_task(self._top_evaluations_forever()))
            # Big relay batches, sent as record batches, keep up with the consumer at full ingest.
            relay = OutboxRelay(self.pool, self.producer, schema=s.db_schema, batch_size=5000,
                                sender=send_events_batched)  # fmt: skip
            await relay.start()
            stack.push_async_callback(relay.stop)
            # Group members in this process (one by default): each keeps `consumer_depth`
            # batches in flight, so one is priced while another waits for PostgreSQL.
            for member in range(s.consumer_concurrency):
                calls = self._consumer(member)
                await calls.start()
                stack.push_async_callback(calls.stop)  # first to stop: no batch half done
            if s.gc_freeze:
                settle_gc()
            log.info("cost-ledger started with %d catalog rows", self.book.size)
            yield

    def _consumer(self, member: int) -> consumer.CallsConsumer:
        s, producer = self.settings, self.producer
        assert producer is not None
        handle = partial(
            record_calls, store=self.get_store(), book=self.get_book, now=utcnow,
            observe=metrics.observe_added, observe_lag=metrics.observe_lag,
        )  # fmt: skip
        batches = BatchConsumer(name=SERVICE, model=LlmCallCompleted, handle=handle,
                                producer=producer, decoder=fast_decode)  # fmt: skip
        return consumer.CallsConsumer(
            batches, bootstrap=s.kafka_bootstrap, topic=s.calls_topic,
            group_id=s.consumer_group, client_id=f"{SERVICE}-{member}",
            max_records=s.consumer_max_records,
            max_partition_fetch_bytes=s.consumer_max_partition_fetch_bytes,
            session_timeout_ms=s.consumer_session_timeout_ms, depth=s.consumer_depth,
        )  # fmt: skip


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings) -> FastAPI:
    """The ledger's FastAPI app; its lifespan runs the consumer and the outbox relay."""
    runtime = Runtime(settings)
    s = settings
    verifier = JwtVerifier(s.jwt_secret.get_secret_value(), jwks_url=s.jwks_url)
    limiter = RateLimiter(lambda: runtime.pool, per_principal=s.rate_limit_per_principal,
                          per_org=s.rate_limit_per_org)  # fmt: skip
    deps = Deps(pool=runtime.get_pool, book=runtime.get_book, store=runtime.get_store,
                now=utcnow, reload_prices=runtime.reload_prices, observe=metrics.observe_added,
                catalog_admin_orgs=s.catalog_admin_orgs)  # fmt: skip
    app = build_app(
        service=SERVICE, title="REX cost ledger", lifespan=runtime.lifespan,
        routers=[api.router(verifier=verifier, limiter=limiter, deps=deps)],
        checks={"postgres": pg_check(lambda: runtime.pool),
                "kafka": kafka_check(lambda: runtime.producer)},
    )  # fmt: skip
    install_http_policy(app, HttpPolicy(max_body_bytes=s.max_body_bytes,
                                        security_headers=s.send_security_headers(),
                                        require_https=s.https_only()))  # fmt: skip
    app.state.runtime = runtime
    return app
