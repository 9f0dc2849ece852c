"""Wires the real adapters into the app; the only module that builds pools, clients and tasks."""

import functools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from rex_shared import topics
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier
from rex_shared.consumer import BatchConsumer
from rex_shared.db import create_pool
from rex_shared.events import BudgetThresholdCrossed
from rex_shared.kafka import ensure_topics, make_producer

from notifier.adapters.deliveries_query import DeliveryQueries
from notifier.adapters.deliveries_repo import PgDeliveries
from notifier.adapters.email import EmailChannel, SmtpConfig
from notifier.adapters.slack import SlackChannel
from notifier.config import Settings
from notifier.entrypoints.api import build_router
from notifier.entrypoints.consumer import subscribe
from notifier.entrypoints.worker import DeliveryWorker
from notifier.handlers import deliver, handle_threshold_crossed
from notifier.messages import Renderer
from notifier.ports import Channel

SCHEMA = "notifier"


def default_channels(settings: Settings) -> list[Channel]:
    """The channels configured by settings: email when there are recipients, Slack when a URL."""
    channels: list[Channel] = []
    if settings.email_recipients:
        channels.append(
            EmailChannel(
                SmtpConfig(
                    host=settings.smtp_host,
                    port=settings.smtp_port,
                    sender=settings.email_from,
                    recipients=settings.email_recipients,
                    username=settings.smtp_username or None,
                    password=settings.smtp_password.get_secret_value() or None,
                    tls=settings.smtp_tls,
                    timeout_s=settings.smtp_timeout_s,
                ),
                key=f"email:{settings.channel_name}",
            )
        )
    if url := settings.slack_webhook_url.get_secret_value():
        channels.append(
            SlackChannel(
                url, key=f"slack:{settings.channel_name}", timeout_s=settings.slack_timeout_s
            )
        )
    return channels


def _worker(
    settings: Settings, store: PgDeliveries, channels: list[Channel], renderer: Renderer
) -> DeliveryWorker:
    send = functools.partial(
        deliver,
        store=store,
        channels={c.key: c for c in channels},
        renderer=renderer,
        policy=settings.retry_policy,
    )
    return DeliveryWorker(
        store=store,
        send=send,
        channel_keys=[c.key for c in channels],
        listen=store.listen,
        batch_size=settings.worker_batch_size,
        concurrency=settings.worker_concurrency,
        poll_s=settings.worker_poll_s,
        lease_s=settings.worker_lease_s,
    )


async def _connect(
    settings: Settings, stack: AsyncExitStack
) -> tuple[asyncpg.Pool, AIOKafkaProducer]:
    """The database pool, the producer (for dead letters) and the topics we consume."""
    pool = await create_pool(settings.database_url, schema=SCHEMA)
    stack.push_async_callback(pool.close)
    producer = make_producer(settings.kafka_bootstrap, client_id="rex-notifier")
    await producer.start()
    stack.push_async_callback(producer.stop)
    await ensure_topics(
        settings.kafka_bootstrap,
        [topics.BUDGET_THRESHOLD_CROSSED],
        partitions=settings.kafka_partitions,
    )
    return pool, producer


async def _start(app: FastAPI, settings: Settings, stack: AsyncExitStack) -> None:
    """Start everything in dependency order; the stack stops it in reverse."""
    pool, producer = await _connect(settings, stack)
    app.state.pool, app.state.producer = pool, producer
    app.state.queries = DeliveryQueries(pool)
    store, channels = PgDeliveries(pool), default_channels(settings)
    for channel in channels:
        stack.push_async_callback(channel.aclose)
    worker = _worker(settings, store, channels, app.state.renderer)
    await worker.start()
    stack.push_async_callback(worker.stop)  # drains in-flight sends before the pool closes
    consumer = BatchConsumer(
        name="notifier",
        model=BudgetThresholdCrossed,
        producer=producer,
        handle=functools.partial(handle_threshold_crossed, store=store, channels=channels),
    )
    broker = KafkaBroker(settings.kafka_bootstrap, client_id="rex-notifier")
    subscribe(broker, consumer, group_id=settings.consumer_group)
    await broker.start()
    stack.push_async_callback(broker.stop)  # stops first: no new events while the rest drains


def create_app(settings: Settings) -> FastAPI:
    """The notifier app; its lifespan runs the consumer and the delivery worker."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await _start(app, settings, stack)
            yield

    app = build_app(
        service="notifier",
        title="REX notifier",
        lifespan=lifespan,
        routers=[build_router(JwtVerifier(settings.jwt_secret.get_secret_value()))],
        checks={
            "postgres": pg_check(lambda: getattr(app.state, "pool", None)),
            "kafka": kafka_check(lambda: getattr(app.state, "producer", None)),
        },
    )
    app.state.renderer = Renderer(dashboard_url=settings.dashboard_url)
    return app
