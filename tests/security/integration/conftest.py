"""The four services running in this process on real Kafka and PostgreSQL, and org A's objects.

Session-scoped: the services start once (about ten seconds), org A's objects are made once, and
every check reads them. Fresh random org ids and fresh consumer groups committed at the end of
every topic, so parallel runs never see each other's data or events.
"""

import functools
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from rex_shared.auth import JwtVerifier
from rex_shared.crypto import new_kek
from rex_shared.kafka import make_producer
from rex_testkit.http_sink import HttpSink
from rex_testkit.infra import Infra
from rex_testkit.waiting import eventually

# Helper modules sit next to the tests; pytest's importlib mode does not add this folder.
sys.path.insert(0, str(Path(__file__).parent))

from sec_apps import Common, Served, running
from sec_world import (
    CREATIONS,
    Ctx,
    World,
    call_event,
    data_of,
    ids_in,
    new_org,
    publish,
)


@pytest.fixture(scope="session")
def sink() -> Iterator[HttpSink]:
    """A local HTTP server standing in for webhooks and Slack; keeps every POST."""
    with HttpSink() as found:
        yield found


@pytest.fixture(scope="session")
def sim_url() -> Iterator[str]:
    from llm_sim.server import running as sim_running

    with sim_running() as url:
        yield url


@pytest.fixture(scope="session")
def keks() -> str:
    """The session's key-encryption key (REX_KEKS), shared by every service."""
    return new_kek("sec1")


@pytest.fixture(scope="session")
async def sec_infra(infra: Infra) -> AsyncIterator[Infra]:
    """The real test PostgreSQL and Kafka, with a database of this session's own.

    Same server, same roles, same schemas and migrations; a fresh database keeps the dump that
    the secrets test searches to this session's data, and keeps migrations other sessions
    applied (or are still editing) in the shared database out of the way.
    """
    name = f"rex_sec_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    base, _, _ = infra.pg_admin_dsn.rpartition("/")
    yield Infra(infra.kafka_bootstrap, f"{base}/{name}")
    admin = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def common(sec_infra: Infra, jwt_secret: str, keks: str) -> Common:
    return Common(sec_infra, jwt_secret, keks)


class System:
    """The running services by name; one that failed to start fails the tests that use it."""

    def __init__(self) -> None:
        self.served: dict[str, Served] = {}
        self.errors: dict[str, str] = {}

    def __getitem__(self, name: str) -> Served:
        if name not in self.served:
            pytest.fail(f"{name} did not start: {self.errors.get(name, 'unknown')}")
        return self.served[name]

    def __contains__(self, name: str) -> bool:
        return name in self.served

    async def start(self, stack: AsyncExitStack, common: Common, name: str, **extra: Any) -> None:
        try:
            self.served[name] = await stack.enter_async_context(running(common, name, **extra))
        except Exception as exc:  # reported by every test of that service
            self.errors[name] = f"{type(exc).__name__}: {exc}"[:2000]


@pytest.fixture(scope="session")
async def system(common: Common, sim_url: str) -> AsyncIterator[System]:
    """All four services, started in dependency order, stopped in reverse."""
    found = System()
    async with AsyncExitStack() as stack:
        await found.start(stack, common, "cost-ledger")
        await found.start(stack, common, "budget")
        urls = {
            f"{k}_url": found.served[s].url
            for k, s in (("ledger", "cost-ledger"), ("budget", "budget"))
            if s in found
        }
        await found.start(stack, common, "evaluator", sim_url=sim_url, **urls)
        await found.start(stack, common, "notifier")
        yield found


@pytest.fixture(scope="session")
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    kafka = make_producer(infra.kafka_bootstrap, client_id="security-tests")
    await kafka.start()
    yield kafka
    await kafka.stop()


async def _create_tabled(world: World, system: System) -> None:
    """Org A's admin makes one object per table entry; failures are kept, not raised."""
    for c in CREATIONS:
        if c.service not in system:
            world.failures[(c.service, c.collection)] = f"{c.service} did not start"
            continue
        served = system[c.service]
        headers = world.a.service if c.role == "service" else world.a.admin
        reply = await served.http.request(c.method, c.path, headers=headers, json=c.body(world.ctx))
        if reply.status_code >= 300:
            world.failures[(c.service, c.collection)] = f"{c.method} {c.path} -> " + (
                f"{reply.status_code} {reply.text[:300]}"
            )
            continue
        world.own(c.service, c.collection, c.ident(reply.json()["data"]), named=c.named)


async def _member_objects(world: World, system: System) -> None:
    """Member X's evaluation and user budget (small, so X's costs cross its thresholds)."""
    ctx, a = world.ctx, world.a
    budget = await system["budget"].http.post(
        "/api/v1/budgets",
        headers=a.admin,
        json={
            "name": f"secA-{a.tag}-x-budget",
            "type": "user",
            "entity_id": ctx.member_x,
            "limit_amount": "0.0001",
            "period": "monthly",
            "is_hard_limit": False,
            "thresholds": ["50"],
        },
    )
    if budget.status_code == 201:
        world.mine["budget"] = budget.json()["data"]["id"]
        world.markers.add(world.mine["budget"])
    else:
        world.failures[("budget", "member budget")] = f"{budget.status_code} {budget.text[:300]}"
    evaluation = await system["evaluator"].http.post(
        "/api/v1/evaluations",
        headers=a.member(ctx.member_x),
        json={
            "project_id": f"proj-{a.tag}",
            "metrics": ["faithfulness"],
            "rows": [{"question": "Q?", "contexts": ["C."], "answer": "A."}],
        },
    )
    if evaluation.status_code < 300:
        world.mine["evaluation"] = evaluation.json()["data"]["id"]
        world.markers.add(world.mine["evaluation"])
    else:
        world.failures[("evaluator", "member evaluation")] = (
            f"{evaluation.status_code} {evaluation.text[:300]}"
        )


async def _event_born(world: World, system: System, producer: AIOKafkaProducer) -> None:
    """Costs, alerts and deliveries come from events: one judge call paid by member X."""
    a, x = world.a, world.ctx.member_x
    costed = str(uuid4())
    await publish(producer, call_event(a.id, x, costed, f"proj-{a.tag}"))
    steps = [
        (
            "cost-ledger",
            "/api/v1/costs/evaluations",
            lambda s: _exists(s, f"/api/v1/costs/evaluations/{costed}", a.admin, costed),
        ),
        (
            "budget",
            "/api/v1/budgets/alerts",
            lambda s: _first_id(s, "/api/v1/budgets/alerts", a.admin),
        ),
        (
            "notifier",
            "/api/v1/notifications/deliveries",
            lambda s: _first_id(s, "/api/v1/notifications/deliveries", a.admin),
        ),
    ]
    for service, collection, probe in steps:
        if service not in system:
            world.failures[(service, collection)] = f"{service} did not start"
            continue
        served = system[service]
        try:
            found = await eventually(
                functools.partial(probe, served), within=30, what=f"{service} {collection} of A"
            )
        except AssertionError as exc:
            world.failures[(service, collection)] = str(exc)
            continue
        world.own(service, collection, found)
        if collection.endswith("alerts"):
            world.mine["alert"] = found
    world.mine["costs"] = costed


async def _exists(served: Served, path: str, headers: dict[str, str], ident: str) -> str | None:
    return ident if await data_of(served.http, path, headers) is not None else None


async def _first_id(served: Served, path: str, headers: dict[str, str]) -> str | None:
    ids = ids_in(await data_of(served.http, path, headers))
    return ids[0] if ids else None


@pytest.fixture(scope="session")
async def world(
    system: System, producer: AIOKafkaProducer, verifier: JwtVerifier, sink: HttpSink
) -> World:
    """Org A with one object of every kind the table and the events can make; org B empty."""
    a, b = new_org(verifier, "a"), new_org(verifier, "b")
    ctx = Ctx(a, f"member-x-{a.tag}", f"member-y-{a.tag}", f"{sink.base}/hook/{a.tag}")
    found = World(a, b, ctx)
    found.markers |= {a.id, f"secA-{a.tag}", f"...{ctx.provider_key[-4:]}"}
    await _create_tabled(found, system)
    for step, args in ((_member_objects, ()), (_event_born, (producer,))):
        try:
            await step(found, system, *args)
        except (Exception, pytest.fail.Exception) as exc:
            found.failures[("world", step.__name__)] = f"{type(exc).__name__}: {exc}"
    return found
