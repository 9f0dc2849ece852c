"""Proof under fire (issue 9, not yet verified against the final services; run with `make faults`,
not part of `make test` until it is): one fault per test while events flow, then every invariant.

Runs on a private Kafka and PostgreSQL (stopping them disturbs nobody else). With
REX_FAULTS_REPORT=<file> (`make faults`) the results table is written there.
"""

import asyncio
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from rex_shared import topics
from rex_shared.auth import JwtVerifier
from rex_shared.db import provision
from rexctl.stack import SERVICES, Ports, Stack

from .conftest import free_port, read_topic
from .faultkit import Driver, Observed, PrivateInfra, Sinks, expected_total, observe, plan_calls

THRESHOLDS = [Decimal(25), Decimal(50), Decimal(75), Decimal(100)]
RATE, EVENTS = 100.0, 800  # eight seconds of steady traffic per scenario
RESULTS: list[tuple[str, int, int, int, str, float]] = []


@dataclass
class FaultSystem:
    infra: PrivateInfra
    stack: Stack
    sinks: Sinks
    verifier: JwtVerifier

    def restart(self, name: str) -> None:
        proc = next(p for p in self.stack.processes() if p.name == name)
        self.stack.start(proc, timeout=90)


@pytest.fixture(scope="module")
def fs() -> Iterator[FaultSystem]:
    # Not under pytest's temp root: another pytest run on the machine may rotate that away
    # while PostgreSQL still has its data directory there (seen: "could not stat data dir").
    home = Path(tempfile.mkdtemp(prefix="rex-faults-"))
    infra = PrivateInfra(home / "infra", free_port(), free_port(), free_port())
    sinks = Sinks(free_port(), free_port())
    ports = Ports(
        evaluator=free_port(),
        ledger=free_port(),
        budget=free_port(),
        notifier=free_port(),
        sim=free_port(),
        smtp=sinks.smtp_port,
        slack=sinks.slack_port,
    )
    stack = Stack(
        home=home / "stack",
        kafka_bootstrap=infra.bootstrap,
        pg_admin_dsn=infra.admin_dsn,
        ports=ports,
        with_sinks=False,
        extra_env={
            "REX_NOTIFIER_SMTP_PORT": str(sinks.smtp_port),
            "REX_NOTIFIER_SLACK_WEBHOOK_URL": sinks.slack_url,
            "REX_NOTIFIER_BACKOFF_BASE_S": "0.5",
            "REX_NOTIFIER_BACKOFF_MAX_S": "2",
            "REX_NOTIFIER_MAX_ATTEMPTS": "200",
            "REX_NOTIFIER_SMTP_TIMEOUT_S": "5",
        },
    )
    infra.start()
    try:
        asyncio.run(_provision(stack))
        stack.migrate()
        sinks.up()
        for proc in stack.processes():
            stack.start(proc, timeout=90)
        yield FaultSystem(infra, stack, sinks, JwtVerifier(stack.jwt_secret()))
    finally:
        for proc in reversed(stack.processes()):
            stack.stop(proc.name)
        sinks.down()
        infra.stop()
        _write_report()
        shutil.rmtree(home, ignore_errors=True)


async def _provision(stack: Stack) -> None:
    for _, _, schema, _ in SERVICES:
        await provision(stack.pg_admin_dsn, schema=schema, role=f"rex_{schema}", password=schema)


def _write_report() -> None:
    target = os.environ.get("REX_FAULTS_REPORT")
    if not target or not RESULTS:
        return
    lines = [
        "| fault | events | lost | duplicated | usage exact | recovery s |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {f} | {n} | {lost} | {dup} | {exact} | {rec:.1f} |"
        for f, n, lost, dup, exact, rec in RESULTS
    ]
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text("\n".join(lines) + "\n")


async def _budget(fs: FaultSystem, org: str, limit: Decimal) -> str:
    name = f"Fault budget {org}"
    token = fs.verifier.mint(sub="admin", org_id=org, roles=["admin"])
    async with httpx.AsyncClient(base_url=fs.stack.url("budget"), timeout=10) as client:
        r = await client.post(
            "/api/v1/budgets",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "name": name,
                "type": "organization",
                "entity_id": org,
                "limit_amount": format(limit, "f"),
                "period": "monthly",
                "thresholds": [int(t) for t in THRESHOLDS],
                "is_hard_limit": False,
            },
        )
        assert r.status_code == 201, r.text
    return name


def _holds(o: Observed, n: int, total: Decimal) -> bool:
    return (
        o.ledger_rows == n
        and o.ledger_total == total
        and o.usage == total
        and all(o.alerts_per_threshold.get(t) == 1 for t in THRESHOLDS)
        and o.mails == o.alerts_sent
        and o.posts == o.alerts_sent
        and o.pending_outbox == 0
    )


async def scenario(
    fs: FaultSystem,
    fault: str,
    inject: Callable[[], Awaitable[None]],
    *,
    poison: bool = False,
    replay: bool = False,
) -> None:
    """Traffic with one fault in the middle; then the invariants, and a row for the report."""
    org = f"fault-{secrets.token_hex(4)}"
    calls = plan_calls(org, EVENTS)
    total = expected_total(calls)
    name = await _budget(fs, org, total)  # the last call takes usage exactly to 100%
    driver = Driver(fs.infra.bootstrap, calls, RATE)
    fault_done = asyncio.get_running_loop().create_future()

    async def fault() -> None:
        await asyncio.sleep(2.5)
        await inject()
        fault_done.set_result(time.monotonic())

    await asyncio.gather(driver.run(), fault())
    if poison:
        await _poison_every_topic(fs, org)
    if replay:
        await driver.replay()
    observed, recovered_at = await _settle(fs, org, name, total)
    RESULTS.append(
        (
            fault,
            EVENTS,
            max(0, EVENTS - observed.ledger_rows),
            _duplicates(observed),
            "yes" if observed.usage == total else "NO",
            max(0.0, recovered_at - fault_done.result()),
        )
    )
    assert _holds(observed, EVENTS, total), observed
    await _check_dead_letters(fs, org, expected=3 if poison else 0)


def _duplicates(o: Observed) -> int:
    over = [max(0, n - 1) for n in o.alerts_per_threshold.values()]
    return (
        max(0, o.ledger_rows - EVENTS)
        + sum(over)
        + max(0, o.mails - o.alerts_sent)
        + max(0, o.posts - o.alerts_sent)
    )


async def _settle(
    fs: FaultSystem, org: str, name: str, total: Decimal, limit_s: float = 120
) -> tuple[Observed, float]:
    deadline = time.monotonic() + limit_s
    while True:
        observed = await observe(fs.infra.admin_dsn, org, name, fs.sinks)
        if _holds(observed, EVENTS, total) or time.monotonic() > deadline:
            return observed, time.monotonic()
        await asyncio.sleep(0.5)


async def _poison_every_topic(fs: FaultSystem, org: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=fs.infra.bootstrap)
    await producer.start()
    try:
        for topic in (
            topics.LLM_CALL_COMPLETED,
            topics.LLM_COST_RECORDED,
            topics.BUDGET_THRESHOLD_CROSSED,
        ):
            await producer.send_and_wait(topic, value=b'{"poison": "' + org.encode() + b'", ')
    finally:
        await producer.stop()


async def _check_dead_letters(fs: FaultSystem, org: str, *, expected: int) -> None:
    dead = []
    for topic in (
        topics.LLM_CALL_COMPLETED,
        topics.LLM_COST_RECORDED,
        topics.BUDGET_THRESHOLD_CROSSED,
    ):
        dead += await read_topic(fs.infra.bootstrap, topics.dlq(topic), org.encode())
    assert len(dead) == expected, [dict(r.headers) for r in dead]


def _kill_and_restart(fs: FaultSystem, name: str) -> Callable[[], Awaitable[None]]:
    async def inject() -> None:
        fs.stack.kill(name)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(fs.restart, name)

    return inject


@pytest.mark.parametrize("service", ["cost-ledger", "budget", "notifier"])
async def test_a_service_killed_mid_stream_loses_and_doubles_nothing(
    fs: FaultSystem, service: str
) -> None:
    await scenario(fs, f"SIGKILL {service}", _kill_and_restart(fs, service))


async def test_the_broker_stopped_for_20_seconds_loses_and_doubles_nothing(
    fs: FaultSystem,
) -> None:
    async def inject() -> None:
        await asyncio.to_thread(fs.infra.kafka_stop)
        await asyncio.sleep(20)
        await asyncio.to_thread(fs.infra.kafka_start)

    await scenario(fs, "Kafka stopped 20 s", inject)


async def test_a_postgresql_restart_loses_and_doubles_nothing(fs: FaultSystem) -> None:
    async def inject() -> None:
        await asyncio.to_thread(fs.infra.pg_restart)

    await scenario(fs, "PostgreSQL restarted", inject)


async def test_mail_and_slack_down_for_30_seconds_deliver_every_alert_once(
    fs: FaultSystem,
) -> None:
    async def inject() -> None:
        fs.sinks.down()
        await asyncio.sleep(30)
        fs.sinks.up()

    await scenario(fs, "SMTP and Slack down 30 s", inject)


async def test_poison_on_every_topic_goes_to_its_dlq_and_nothing_else_does(
    fs: FaultSystem,
) -> None:
    async def nothing() -> None:
        return None

    await scenario(fs, "poison on each topic", nothing, poison=True)


async def test_a_whole_batch_delivered_twice_counts_once(fs: FaultSystem) -> None:
    async def nothing() -> None:
        return None

    await scenario(fs, "duplicate batch", nothing, replay=True)
