"""Builds the evaluator: pool, LLM clients, runs, ledger and budget clients, Kafka producer
and outbox relay, HTTP policy; the only place that creates real adapters."""

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI
from rex_shared import topics
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier, principal_dependency
from rex_shared.crypto import SecretBox, new_kek
from rex_shared.db import create_pool
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.outbox import OutboxRelay
from rex_shared.runtime import settle_gc
from rex_shared.security import HttpPolicy, RateLimiter, install_http_policy

from evaluator.adapters.clients import ClientPool
from evaluator.adapters.dataset_repo import PgDatasetRepo
from evaluator.adapters.evaluation_repo import PgEvaluationRepo
from evaluator.adapters.history_repo import PgOutputHistory
from evaluator.adapters.key_repo import PgKeyRepo
from evaluator.adapters.lease_repo import PgRunLeases
from evaluator.adapters.run_store import PgRunStore
from evaluator.adapters.services import AiohttpPeer, BudgetClient, LedgerClient, ServiceTokens
from evaluator.background import RunScheduler, Upkeep
from evaluator.config import SCHEMA, Settings
from evaluator.domain.model import Evaluation
from evaluator.entrypoints.api import ApiDeps, build_router
from evaluator.entrypoints.resources_api import datasets_router, keys_router
from evaluator.estimates import Estimate, estimate_cost
from evaluator.handlers import Gatekeeping, SubmitEvaluation
from evaluator.runner import RunDeps, run_evaluation

log = logging.getLogger(__name__)

PRODUCES = (topics.LLM_CALL_COMPLETED, topics.EVALUATION_COMPLETED)


@dataclass
class Runtime:
    """What the lifespan holds while the app runs."""

    pool: asyncpg.Pool | None = None
    producer: AIOKafkaProducer | None = None
    relay: OutboxRelay | None = None
    scheduler: RunScheduler | None = None
    upkeep: Upkeep | None = None
    leases: PgRunLeases | None = None
    halt: asyncio.Event | None = None
    api: ApiDeps | None = None
    clients: ClientPool | None = None
    http: AiohttpPeer | None = None
    store: PgRunStore | None = None


def _jwt_secret(settings: Settings) -> str:
    secret = settings.jwt_secret.get_secret_value()
    if secret or settings.jwks_url:
        return secret
    # No constant fallback: a fresh secret per process (tokens minted elsewhere won't verify;
    # set REX_JWT_SECRET, as `rexctl up` does).
    log.warning("REX_JWT_SECRET is not set: using a random secret for this process")
    return secrets.token_urlsafe(48)


def _secret_box(settings: Settings) -> SecretBox:
    if settings.keks is not None:
        return SecretBox(settings.keks.get_secret_value())
    # Production refuses to start without REX_KEKS (Settings); locally a per-process key.
    log.warning("REX_KEKS is not set: provider keys stored now will not open after a restart")
    return SecretBox(new_kek("local"))


async def _connect_kafka(settings: Settings, rt: Runtime) -> None:
    """Keep trying until Kafka answers: meanwhile events wait in the outbox, none are lost."""
    delay = 0.5
    while True:
        producer = make_producer(settings.kafka_bootstrap, client_id="rex-evaluator")
        try:
            await ensure_topics(
                settings.kafka_bootstrap, PRODUCES, partitions=settings.kafka_partitions
            )
            await producer.start()
            break
        except Exception as exc:
            await producer.stop()
            log.warning("Kafka not reachable (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    assert rt.pool is not None
    rt.producer = producer
    rt.relay = OutboxRelay(rt.pool, producer, schema=SCHEMA)
    await rt.relay.start()


async def _settle(evaluation: Evaluation, *, budget: BudgetClient, leases: PgRunLeases) -> None:
    if evaluation.reservation_id:
        await budget.settle(
            org_id=evaluation.org_id,
            user_id=evaluation.user_id,
            reservation_id=evaluation.reservation_id,
        )
    await leases.mark_settled(evaluation.id)


def _peer_client(settings: Settings) -> AiohttpPeer:
    """One pooled, kept-alive client for every call to the ledger and the budget service."""
    return AiohttpPeer(timeout_s=settings.service_timeout_s)


def _wire(settings: Settings, rt: Runtime, pool: asyncpg.Pool, verifier: JwtVerifier) -> None:
    owner = uuid4().hex
    rt.pool, rt.http = pool, _peer_client(settings)
    tokens = ServiceTokens(verifier)
    ledger = LedgerClient(settings.ledger_url.rstrip("/"), tokens, rt.http)
    budget = BudgetClient(settings.budget_url.rstrip("/"), tokens, rt.http)
    keys = PgKeyRepo(pool, _secret_box(settings))
    rt.clients = ClientPool(settings, keys.secret)
    rt.leases = PgRunLeases(pool, owner=owner, lease_s=settings.run_lease_s)
    settle = partial(_settle, budget=budget, leases=rt.leases)
    rt.store = PgRunStore(pool, owner=owner, lease_s=settings.run_lease_s)
    deps = RunDeps(
        store=rt.store,
        clients=rt.clients,
        concurrency=settings.run_concurrency,
        max_tokens=settings.judge_max_tokens,
        settle=settle,
    )

    async def run(evaluation_id: UUID) -> None:
        await run_evaluation(evaluation_id, deps=deps)

    history = PgOutputHistory(pool)

    async def estimate(cmd: SubmitEvaluation) -> Estimate:
        return await estimate_cost(
            cmd.rows,
            cmd.metrics,
            cmd.judge,
            org_id=cmd.org_id,
            user_id=cmd.user_id,
            quoter=ledger,
            history=history.ratios,
            anthropic_factor=settings.anthropic_token_factor,
        )

    rt.halt = deps.halt
    rt.scheduler = RunScheduler(run, settings.max_active_runs)
    rt.upkeep = Upkeep(rt.scheduler, rt.leases, settle, settings.maintenance_interval_s, pool)
    gates = Gatekeeping(estimate, budget, settings.budget_fail_open)
    start_run = rt.scheduler.submit if settings.run_evaluations else _leave_to_workers
    rt.api = ApiDeps(
        PgEvaluationRepo(pool),
        start_run,
        settings.max_rows,
        gates,
        PgDatasetRepo(pool),
        keys,
        ledger,
        rt.clients.forget,
    )


def _leave_to_workers(evaluation_id: UUID) -> None:
    """API-only instance: a worker instance picks the queued evaluation up (it listens)."""


async def _stop_runs(rt: Runtime, grace_s: float) -> None:
    if rt.upkeep:
        await rt.upkeep.stop()
    if rt.halt:
        rt.halt.set()  # no new judge calls; calls in flight are paid for: store them
    if rt.scheduler:
        await rt.scheduler.drain(grace_s)
        await rt.scheduler.stop()
    if rt.leases:
        with suppress(Exception):
            await rt.leases.release()
    if rt.store:
        await rt.store.close()


async def _shutdown(rt: Runtime, kafka: asyncio.Task[None], grace_s: float) -> None:
    # Upkeep and runs first (they write to the outbox), leases given back so a restarted
    # instance resumes at once, then the relay, then the connections.
    await _stop_runs(rt, grace_s)
    kafka.cancel()
    with suppress(asyncio.CancelledError):
        await kafka
    if rt.relay:
        await rt.relay.stop()
    if rt.producer:
        await rt.producer.stop()
    if rt.clients:
        await rt.clients.close()
    if rt.http:
        await rt.http.aclose()
    if rt.pool:
        await rt.pool.close()


def _routers(settings: Settings, rt: Runtime, verifier: JwtVerifier) -> list[APIRouter]:
    def api_deps() -> ApiDeps:
        if rt.api is None:
            raise RuntimeError("the evaluator is not started")
        return rt.api

    principal = principal_dependency(verifier)
    limiter = RateLimiter(
        lambda: rt.pool,
        per_principal=settings.rate_limit_per_principal,
        per_org=settings.rate_limit_per_org,
    )
    guarded = APIRouter(dependencies=[Depends(limiter.dependency(principal))])
    guarded.include_router(build_router(api_deps, principal))
    guarded.include_router(datasets_router(api_deps, principal, settings.max_body_bytes))
    guarded.include_router(keys_router(api_deps, principal))
    return [guarded]


def create_app(settings: Settings) -> FastAPI:
    """The evaluator's FastAPI app; connections open in its lifespan."""
    rt = Runtime()
    verifier = JwtVerifier(_jwt_secret(settings), jwks_url=settings.jwks_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(
            settings.database_url, schema=SCHEMA, max_size=settings.db_pool_max
        )
        _wire(settings, rt, pool, verifier)
        kafka = asyncio.create_task(_connect_kafka(settings, rt), name="evaluator-kafka")
        assert rt.upkeep is not None
        if settings.run_evaluations:
            await rt.upkeep.start()  # resumes unfinished runs straight away
        settle_gc()  # startup objects out of the collector's full passes
        try:
            yield
        finally:
            await _shutdown(rt, kafka, settings.shutdown_grace_s)

    app = build_app(
        service="evaluator",
        title="REX evaluator",
        lifespan=lifespan,
        routers=_routers(settings, rt, verifier),
        checks={"database": pg_check(lambda: rt.pool), "kafka": kafka_check(lambda: rt.producer)},
    )
    production = settings.production
    install_http_policy(
        app,
        HttpPolicy(
            max_body_bytes=settings.max_body_bytes,
            security_headers=production
            if settings.security_headers is None
            else settings.security_headers,
            require_https=production if settings.require_https is None else settings.require_https,
        ),
    )
    app.state.runtime = rt
    return app
