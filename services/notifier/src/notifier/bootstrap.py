"""The composition root: the only module that builds pools, producers, clients and tasks."""

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import cast

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier
from rex_shared.crypto import SecretBox, new_kek
from rex_shared.db import role_pools
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.runtime import settle_gc
from rex_shared.security import RateLimiter, install_http_policy

from notifier.adapters.channels_repo import PgChannels
from notifier.adapters.configured import channel_factory, default_channels
from notifier.adapters.deliveries_query import DeliveryQueries
from notifier.adapters.deliveries_repo import PgDeliveries
from notifier.adapters.registry import ChannelRegistry, HttpSession
from notifier.adapters.renderer import EVENTS, Renderer
from notifier.config import Settings
from notifier.domain.channels import Kind
from notifier.domain.routing import Target
from notifier.entrypoints.http import routers
from notifier.entrypoints.kafka import consumer_loop, consumers
from notifier.entrypoints.workers import DeliveryWorker
from notifier.handlers.deliveries import deliver, plan_deliveries
from notifier.ports import (
    ChannelBuilder,
    ChannelStore,
    DeliveryReads,
    MessageRenderer,
    SlotTaker,
)

SCHEMA = "notifier"
log = logging.getLogger(__name__)

# Libraries that would log secrets (webhook URLs, SMTP conversations) at DEBUG or INFO.
_QUIET_LOGGERS = ("httpx", "httpcore", "aiosmtplib", "slack_sdk", "aiohttp.client")


@dataclass(frozen=True)
class Deps:
    """What the routes and their use cases need; `app.state.deps`, read by `get_deps`."""

    limiter: RateLimiter
    deliveries: DeliveryReads
    channels: ChannelStore
    take: SlotTaker
    factory: ChannelBuilder
    renderer: MessageRenderer
    https_targets_only: bool
    test_timeout_s: float


@dataclass
class _Live:
    """What the lifespan opened, for the readiness checks."""

    pool: asyncpg.Pool | None = None
    producer: AIOKafkaProducer | None = None


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


def _needs(pool: asyncpg.Pool | None) -> asyncpg.Pool:
    if pool is None:
        raise ValueError("build_deps needs a pool, or a replacement of every table adapter")
    return pool


def build_deps(
    settings: Settings,
    *,
    pool: asyncpg.Pool | None = None,
    session: HttpSession | None = None,
    box: SecretBox | None = None,
    deliveries: DeliveryReads | None = None,
    channels: ChannelStore | None = None,
    take: SlotTaker | None = None,
    factory: ChannelBuilder | None = None,
) -> Deps:
    """The routes' dependencies over `pool`; any adapter given replaces the real one."""
    session = session or HttpSession(max(settings.slack_timeout_s, settings.webhook_timeout_s))
    return Deps(
        limiter=RateLimiter(
            lambda: pool,
            per_principal=settings.rate_limit_per_principal,
            per_org=settings.rate_limit_per_org,
        ),
        deliveries=deliveries or DeliveryQueries(_needs(pool)),
        channels=channels or PgChannels(_needs(pool), box or secret_box(settings)),
        take=take or PgDeliveries(_needs(pool)).take,
        factory=factory or channel_factory(settings, session),
        renderer=Renderer(dashboard_url=settings.dashboard_url),
        https_targets_only=settings.https_targets_only,
        test_timeout_s=settings.test_send_timeout_s,
    )


def _worker(
    settings: Settings, store: PgDeliveries, registry: ChannelRegistry, renderer: MessageRenderer
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
) -> tuple[asyncpg.Pool, asyncpg.Pool, AIOKafkaProducer]:
    """The request and worker pools, the producer (for dead letters), the topics we consume."""
    pool, worker = await role_pools(settings.database_url, settings.worker_dsn, schema=SCHEMA,
                                    max_size=settings.db_pool_size, stack=stack)  # fmt: skip
    producer = make_producer(settings.kafka_bootstrap, client_id="rex-notifier")
    await producer.start()
    stack.push_async_callback(producer.stop)
    await ensure_topics(
        settings.kafka_bootstrap, list(EVENTS), partitions=settings.kafka_partitions
    )
    return pool, worker, producer


async def _start(app: FastAPI, settings: Settings, stack: AsyncExitStack, live: _Live) -> None:
    """Start everything in dependency order; the stack stops it in reverse."""
    pool, worker_pool, producer = await _connect(settings, stack)
    live.pool, live.producer = pool, producer
    session = HttpSession(max(settings.slack_timeout_s, settings.webhook_timeout_s))
    stack.push_async_callback(session.aclose)
    defaults = default_channels(settings, session)
    store = PgDeliveries(
        worker_pool,
        default_rates={key: r.rate for key, r in defaults.items()},
        pacing_inline_s=settings.pacing_inline_s,
    )
    channels = PgChannels(pool, secret_box(settings), worker_pool=worker_pool)
    factory = channel_factory(settings, session)
    app.state.deps = deps = build_deps(
        settings, pool=pool, session=session, channels=channels, take=store.take, factory=factory
    )
    registry = ChannelRegistry(defaults=defaults, load=channels.load, factory=factory)
    worker = _worker(settings, store, registry, deps.renderer)
    await worker.start()
    stack.push_async_callback(worker.stop)  # drains in-flight sends before the pool closes
    targets = [Target(key, cast(Kind, r.channel.kind)) for key, r in defaults.items()]
    plan = functools.partial(plan_deliveries, store=store, directory=channels, defaults=targets)
    loop = consumer_loop(
        consumers(producer, plan), bootstrap=settings.kafka_bootstrap,
        group_id=settings.consumer_group,
    )  # fmt: skip
    await loop.start()
    stack.push_async_callback(loop.stop)  # stops first: no new events while the rest drains


def create_app(settings: Settings, *, deps: Deps | None = None) -> FastAPI:
    """The notifier app; without `deps` (a test's fakes) its lifespan builds the real ones."""
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    live = _Live()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await _start(app, settings, stack, live)
            settle_gc()  # startup objects out of the collector's full passes
            yield

    app = build_app(
        service="notifier",
        title="REX notifier",
        lifespan=lifespan,
        routers=routers(
            JwtVerifier(settings.jwt_secret.get_secret_value(), jwks_url=settings.jwks_url)
        ),
        checks={
            "postgres": pg_check(lambda: live.pool),
            "kafka": kafka_check(lambda: live.producer),
        },
    )
    install_http_policy(app, settings.http_policy)
    app.state.deps = deps
    return app
