"""Wires the real adapters: pool, producer, topics, price book, broker, outbox relay, app."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from datetime import UTC, datetime
from functools import partial

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from rex_shared import topics
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier
from rex_shared.consumer import BatchConsumer
from rex_shared.db import create_pool
from rex_shared.events import LlmCallCompleted
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.outbox import OutboxRelay

from cost_ledger.adapters.catalog_repo import load_rows
from cost_ledger.adapters.ledger_repo import PgLedgerStore
from cost_ledger.config import Settings
from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.pricebook import PriceBook
from cost_ledger.entrypoints import api, consumer
from cost_ledger.handlers import record_calls

log = logging.getLogger(__name__)
SERVICE = "cost-ledger"


def utcnow() -> datetime:
    return datetime.now(UTC)


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
            await ensure_topics(
                s.kafka_bootstrap,
                [topics.LLM_CALL_COMPLETED, topics.LLM_COST_RECORDED],
                partitions=s.kafka_partitions,
            )
            await self.reload_prices()
            stack.push_async_callback(_cancel, asyncio.create_task(self._reload_forever()))
            relay = OutboxRelay(self.pool, self.producer, schema=s.db_schema)
            await relay.start()
            stack.push_async_callback(relay.stop)
            broker = self._broker()
            await broker.start()
            stack.push_async_callback(broker.stop)  # first to stop: no batch left half done
            log.info("cost-ledger started with %d catalog rows", self.book.size)
            yield

    def _broker(self) -> KafkaBroker:
        s, producer = self.settings, self.producer
        assert producer is not None
        broker = KafkaBroker(
            # Per-batch "Received"/"Processed" lines would dominate the log at full ingest.
            s.kafka_bootstrap,
            client_id=SERVICE,
            logger=logging.getLogger("cost_ledger.broker"),
            log_level=logging.DEBUG,
        )
        handle = partial(record_calls, store=PgLedgerStore(self.get_pool(), schema=s.db_schema),
                         book=self.get_book, now=utcnow)  # fmt: skip
        batches = BatchConsumer(name=SERVICE, model=LlmCallCompleted, handle=handle,
                                producer=producer)  # fmt: skip
        consumer.subscribe(broker, batches, group_id=s.consumer_group,
                           max_records=s.consumer_max_records)  # fmt: skip
        return broker


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings) -> FastAPI:
    """The ledger's FastAPI app; its lifespan runs the consumer and the outbox relay."""
    runtime = Runtime(settings)
    verifier = JwtVerifier(settings.jwt_secret.get_secret_value())
    app = build_app(
        service=SERVICE, title="REX cost ledger", lifespan=runtime.lifespan,
        routers=[api.router(verifier=verifier, pool=runtime.get_pool, book=runtime.get_book,
                            now=utcnow)],
        checks={"postgres": pg_check(lambda: runtime.pool),
                "kafka": kafka_check(lambda: runtime.producer)},
    )  # fmt: skip
    app.state.runtime = runtime
    return app
