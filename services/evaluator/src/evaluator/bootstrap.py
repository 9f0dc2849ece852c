"""Builds the evaluator: pool, LLM clients, runs, ledger and budget clients, Kafka producer
and outbox relay, HTTP policy; the only place that creates real adapters."""

import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, Depends, FastAPI
from rex_shared.app import build_app, kafka_check, pg_check
from rex_shared.auth import JwtVerifier, principal_dependency
from rex_shared.crypto import SecretBox, new_kek
from rex_shared.db import role_pools
from rex_shared.runtime import settle_gc
from rex_shared.security import HttpPolicy, RateLimiter, install_http_policy

from evaluator.adapters.budget_client import BudgetClient
from evaluator.adapters.clients import ClientPool
from evaluator.adapters.dataset_repo import PgDatasetRepo
from evaluator.adapters.evaluation_repo import PgEvaluationRepo
from evaluator.adapters.history_repo import PgOutputHistory
from evaluator.adapters.key_repo import PgKeyRepo
from evaluator.adapters.lease_repo import PgRunLeases
from evaluator.adapters.ledger_client import LedgerClient
from evaluator.adapters.peer_http import AiohttpPeer, ServiceTokens
from evaluator.adapters.run_store import PgRunStore
from evaluator.config import SCHEMA, Settings
from evaluator.entrypoints.workers import Publishing, RunScheduler, RunWorkers, Upkeep
from evaluator.handlers.estimates import estimator
from evaluator.handlers.evaluations import Gatekeeping
from evaluator.handlers.keys import KeyChanged
from evaluator.handlers.runs import RunDeps, run_evaluation, settle_reservation
from evaluator.ports import DatasetRepo, EvaluationRepo, KeyRepo, Ledger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deps:
    """What the routes use: built from the real adapters when the app starts, or passed to
    `create_app` (fakes) by tests."""

    repo: EvaluationRepo
    start_run: Callable[[UUID], None]
    max_rows: int
    gates: Gatekeeping | None = None
    datasets: DatasetRepo | None = None
    keys: KeyRepo | None = None
    ledger: Ledger | None = None
    on_key_change: KeyChanged | None = None
    poll_s: float = 0.5
    max_body_bytes: int = 16 * 1024 * 1024


@dataclass
class Runtime:
    """What the lifespan holds while the app runs."""

    pool: asyncpg.Pool | None = None
    worker_pool: asyncpg.Pool | None = None
    publishing: Publishing | None = None
    runs: RunWorkers | None = None
    clients: ClientPool | None = None
    http: AiohttpPeer | None = None


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


def _runs(
    settings: Settings, clients: ClientPool, pool: asyncpg.Pool, budget: BudgetClient
) -> RunWorkers:
    """The run workers: scheduler, leases, upkeep (they resume and settle runs)."""
    owner = uuid4().hex
    leases = PgRunLeases(pool, owner=owner, lease_s=settings.run_lease_s)
    settle = partial(settle_reservation, budget=budget, mark_settled=leases.mark_settled)
    store = PgRunStore(pool, owner=owner, lease_s=settings.run_lease_s)
    deps = RunDeps(
        store=store,
        clients=clients,
        concurrency=settings.run_concurrency,
        max_tokens=settings.judge_max_tokens,
        settle=settle,
    )

    async def run(evaluation_id: UUID) -> None:
        await run_evaluation(evaluation_id, deps=deps)

    scheduler = RunScheduler(run, settings.max_active_runs)
    upkeep = Upkeep(scheduler, leases, settle, settings.maintenance_interval_s, pool)
    return RunWorkers(scheduler, upkeep, deps.halt, leases, store)


def _gates(
    settings: Settings, pool: asyncpg.Pool, ledger: LedgerClient, budget: BudgetClient
) -> Gatekeeping:
    history = PgOutputHistory(pool).ratios
    estimate = estimator(ledger, history, settings.anthropic_token_factor)
    return Gatekeeping(estimate, budget, settings.budget_fail_open)


def _wire(settings: Settings, rt: Runtime, pool: asyncpg.Pool, verifier: JwtVerifier) -> Deps:
    """Every real adapter, the run workers, and the routes' `Deps`."""
    # One pooled, kept-alive client for every call to the ledger and the budget service.
    rt.pool, rt.http = pool, AiohttpPeer(timeout_s=settings.service_timeout_s)
    worker = rt.worker_pool or pool  # runs, relay and cross-org aggregates: the worker role
    tokens = ServiceTokens(verifier)
    ledger = LedgerClient(settings.ledger_url.rstrip("/"), tokens, rt.http)
    budget = BudgetClient(settings.budget_url.rstrip("/"), tokens, rt.http)
    keys = PgKeyRepo(pool, _secret_box(settings))
    rt.clients = ClientPool(settings, keys.secret)
    rt.runs = _runs(settings, rt.clients, worker, budget)
    return Deps(
        PgEvaluationRepo(pool),
        rt.runs.scheduler.submit if settings.run_evaluations else _leave_to_workers,
        settings.max_rows,
        _gates(settings, worker, ledger, budget),
        PgDatasetRepo(pool),
        keys,
        ledger,
        rt.clients.forget,
        max_body_bytes=settings.max_body_bytes,
    )


def _leave_to_workers(evaluation_id: UUID) -> None:
    """API-only instance: a worker instance picks the queued evaluation up (it listens)."""


async def _shutdown(rt: Runtime, grace_s: float) -> None:
    # Upkeep and runs first (they write to the outbox), leases given back so a restarted
    # instance resumes at once, then the relay, then the connections.
    if rt.runs:
        await rt.runs.stop(grace_s)
    if rt.publishing:
        await rt.publishing.stop()
    if rt.clients:
        await rt.clients.close()
    if rt.http:
        await rt.http.aclose()
    for pool in (rt.pool, rt.worker_pool):
        if pool:
            await pool.close()


def _guarded(settings: Settings, rt: Runtime, principal: Callable[..., Any]) -> list[APIRouter]:
    """Every route, behind the verified caller's rate limit."""
    from evaluator.entrypoints.http import routers  # the routes import `Deps` from here

    limiter = RateLimiter(
        lambda: rt.pool,
        per_principal=settings.rate_limit_per_principal,
        per_org=settings.rate_limit_per_org,
    )
    guarded = APIRouter(dependencies=[Depends(limiter.dependency(principal))])
    for router in routers():
        guarded.include_router(router)
    return [guarded]


def _lifespan(settings: Settings, rt: Runtime, verifier: JwtVerifier) -> Callable[..., Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dsns = (settings.database_url, settings.worker_dsn)
        pool, rt.worker_pool = await role_pools(*dsns, schema=SCHEMA, max_size=settings.db_pool_max)
        app.state.deps = _wire(settings, rt, pool, verifier)
        rt.publishing = Publishing(
            rt.worker_pool, settings.kafka_bootstrap, settings.kafka_partitions
        )
        rt.publishing.start()
        assert rt.runs is not None
        if settings.run_evaluations:
            await rt.runs.upkeep.start()  # resumes unfinished runs straight away
        settle_gc()  # startup objects out of the collector's full passes
        try:
            yield
        finally:
            await _shutdown(rt, settings.shutdown_grace_s)

    return lifespan


@asynccontextmanager
async def _faked(_: FastAPI) -> AsyncIterator[None]:
    yield  # the caller's fakes need no connections


def create_app(settings: Settings, *, deps: Deps | None = None) -> FastAPI:
    """The evaluator's FastAPI app; connections open in its lifespan, unless `deps` (fakes)
    replace every real adapter."""
    rt = Runtime()
    verifier = JwtVerifier(_jwt_secret(settings), jwks_url=settings.jwks_url)
    principal = principal_dependency(verifier)
    app = build_app(
        service="evaluator",
        title="REX evaluator",
        lifespan=_lifespan(settings, rt, verifier) if deps is None else _faked,
        routers=_guarded(settings, rt, principal),
        checks={
            "database": pg_check(lambda: rt.pool),
            "kafka": kafka_check(lambda: rt.publishing.producer if rt.publishing else None),
        },
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
    app.state.runtime, app.state.principal = rt, principal
    if deps is not None:
        app.state.deps = deps
    return app
