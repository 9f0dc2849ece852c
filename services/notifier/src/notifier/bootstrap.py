"""Wires the real adapters into the app; the only module that builds pools, clients and tasks."""

import functools
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, cast

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier
from rex_shared.consumer import BatchConsumer
from rex_shared.crypto import SecretBox, new_kek
from rex_shared.db import create_pool
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.runtime import settle_gc
from rex_shared.security import RateLimiter, install_http_policy

from notifier.adapters.channels_repo import PgChannels
from notifier.adapters.deliveries_query import DeliveryQueries
from notifier.adapters.deliveries_repo import PgDeliveries
from notifier.adapters.email import EmailChannel, SmtpConfig
from notifier.adapters.registry import ChannelFactory, ChannelRegistry, HttpSession
from notifier.adapters.slack import SlackChannel
from notifier.config import Settings
from notifier.domain.channels import Kind
from notifier.domain.routing import Target
from notifier.entrypoints.api import build_router
from notifier.entrypoints.consumer import subscribe
from notifier.entrypoints.worker import DeliveryWorker
from notifier.handlers import deliver, plan_deliveries
from notifier.messages import EVENTS, Renderer
from notifier.ports import Resolved

SCHEMA = "notifier"
log = logging.getLogger(__name__)

# Libraries that would log secrets (webhook URLs, SMTP conversations) at DEBUG or INFO.
_QUIET_LOGGERS = ("httpx", "httpcore", "aiosmtplib", "slack_sdk", "aiohttp.client")


def secret_box(settings: Settings) -> SecretBox:
    """The KEKs from REX_KEKS; outside production a throwaway one, loudly."""
    keks = settings.keks.get_secret_value()
    if not keks:
        log.warning(
            "REX_KEKS is not set: channel secrets are sealed with a key generated for this"
            " process and cannot be read after a restart (set REX_KEKS to keep them)"
        )
        keks = new_kek("local")
    return SecretBox(keks)


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Certificate verification for SMTP: the system CAs plus REX_NOTIFIER_SMTP_CA_FILE."""
    return ssl.create_default_context(cafile=settings.smtp_ca_file or None)


def default_channels(settings: Settings, session: HttpSession) -> dict[str, Resolved]:
    """The channels configured by settings: email when there are recipients, Slack when a URL."""
    channels: dict[str, Resolved] = {}
    if settings.email_recipients:
        key = f"email:{settings.channel_name}"
        config = SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.email_from,
            recipients=settings.email_recipients,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() or None,
            tls=settings.smtp_tls,
            timeout_s=settings.smtp_timeout_s,
            tls_context=tls_context(settings),
        )
        channels[key] = Resolved(EmailChannel(config, key=key), settings.email_rate)
    if url := settings.slack_webhook_url.get_secret_value():
        key = f"slack:{settings.channel_name}"
        slack = SlackChannel(url, key=key, timeout_s=settings.slack_timeout_s, session=session)
        channels[key] = Resolved(slack, settings.slack_rate)
    return channels


def _worker(
    settings: Settings, store: PgDeliveries, registry: ChannelRegistry, renderer: Renderer
) -> DeliveryWorker:
    send = functools.partial(
        deliver, store=store, channels=registry, renderer=renderer, policy=settings.retry_policy
    )
    return DeliveryWorker(
        store=store,
        send=send,
        channel_keys=registry.default_keys,
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
    pool = await create_pool(settings.database_url, schema=SCHEMA, max_size=settings.db_pool_size)
    stack.push_async_callback(pool.close)
    producer = make_producer(settings.kafka_bootstrap, client_id="rex-notifier")
    await producer.start()
    stack.push_async_callback(producer.stop)
    await ensure_topics(
        settings.kafka_bootstrap, list(EVENTS), partitions=settings.kafka_partitions
    )
    return pool, producer


def _consumers(
    app: FastAPI, store: PgDeliveries, defaults: list[Target], producer: AIOKafkaProducer
) -> dict[str, BatchConsumer[Any]]:
    """One BatchConsumer per budget topic with templates, all planning deliveries."""
    return {
        topic: BatchConsumer(
            name="notifier",
            model=spec.model,
            producer=producer,
            handle=functools.partial(
                plan_deliveries,
                event_type=topic,
                store=store,
                directory=app.state.channels,
                defaults=defaults,
            ),
        )
        for topic, spec in EVENTS.items()
    }


async def _start(app: FastAPI, settings: Settings, stack: AsyncExitStack) -> None:
    """Start everything in dependency order; the stack stops it in reverse."""
    pool, producer = await _connect(settings, stack)
    session = HttpSession(max(settings.slack_timeout_s, settings.webhook_timeout_s))
    stack.push_async_callback(session.aclose)
    defaults = default_channels(settings, session)
    store = PgDeliveries(
        pool,
        default_rates={key: r.rate for key, r in defaults.items()},
        pacing_inline_s=settings.pacing_inline_s,
    )
    app.state.pool, app.state.producer = pool, producer
    app.state.queries = DeliveryQueries(pool)
    app.state.channels = PgChannels(pool, secret_box(settings))
    app.state.take = store.take
    app.state.factory = ChannelFactory(
        session=session,
        tls_context=tls_context(settings),
        smtp_timeout_s=settings.smtp_timeout_s,
        slack_timeout_s=settings.slack_timeout_s,
        webhook_timeout_s=settings.webhook_timeout_s,
    )
    registry = ChannelRegistry(
        defaults=defaults, load=app.state.channels.load, factory=app.state.factory
    )
    worker = _worker(settings, store, registry, app.state.renderer)
    await worker.start()
    stack.push_async_callback(worker.stop)  # drains in-flight sends before the pool closes
    targets = [Target(key, cast(Kind, r.channel.kind)) for key, r in defaults.items()]
    broker = KafkaBroker(settings.kafka_bootstrap, client_id="rex-notifier")
    consumers = _consumers(app, store, targets, producer)
    subscribe(broker, consumers, group_id=settings.consumer_group)
    await broker.start()
    stack.push_async_callback(broker.stop)  # stops first: no new events while the rest drains


def create_app(settings: Settings) -> FastAPI:
    """The notifier app; its lifespan runs the consumer and the delivery worker."""
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await _start(app, settings, stack)
            settle_gc()  # startup objects out of the collector's full passes
            yield

    verifier = JwtVerifier(settings.jwt_secret.get_secret_value(), jwks_url=settings.jwks_url)
    limiter = RateLimiter(
        lambda: getattr(app.state, "pool", None),
        per_principal=settings.rate_limit_per_principal,
        per_org=settings.rate_limit_per_org,
    )
    app = build_app(
        service="notifier",
        title="REX notifier",
        lifespan=lifespan,
        routers=[build_router(verifier, limiter)],
        checks={
            "postgres": pg_check(lambda: getattr(app.state, "pool", None)),
            "kafka": kafka_check(lambda: getattr(app.state, "producer", None)),
        },
    )
    install_http_policy(app, settings.http_policy)
    app.state.renderer = Renderer(dashboard_url=settings.dashboard_url)
    app.state.https_targets_only = settings.https_targets_only
    app.state.test_timeout_s = settings.test_send_timeout_s
    return app
