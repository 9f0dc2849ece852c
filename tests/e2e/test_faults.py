"""Proof under fire (issue 9): one fault per test while events flow, then every invariant.

Part of the e2e tier of `make test`; `make faults` runs it alone and writes the results table.
Runs on a private Kafka and PostgreSQL (stopping them disturbs nobody else). With
REX_FAULTS_REPORT=<file> (`make faults`) the results table is written there; with
REX_FAULTS_KEEP=1 the private home (every process's log) is kept for a post-mortem.
"""

import asyncio
import contextlib
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from rex_shared import topics
from rex_shared.auth import JwtVerifier
from rex_shared.db import provision
from rex_shared.events import LlmCallCompleted
from rex_testkit.ports import free_port
from rexctl.infra import PrivateInfra
from rexctl.stack import SERVICES, Ports, Stack

from .conftest import read_topic
from .faultkit import (
    KILL_WINDOW_S,
    Driver,
    Observed,
    ProviderCheck,
    Sinks,
    expected_total,
    observe,
    plan_calls,
    provider_check,
)

THRESHOLDS = [Decimal(25), Decimal(50), Decimal(75), Decimal(100)]
RATE, EVENTS = 100.0, 600  # six seconds of steady traffic per scenario
FAULT_AT_S = 2.0  # the fault strikes mid-stream
SETTLE_S = 90.0  # the longest a scenario may take to recover once traffic stopped
EVALUATION_EVERY_S = 0.4  # with the evaluator killed: evaluations submitted alongside
EVALUATIONS_BEFORE_FAULT = 3  # accepted before the SIGKILL, so some are half run
EVALUATION_ROWS = [
    {
        "question": f"What is fact {i}?",
        "contexts": [f"Fact {i} is that the number {i} follows {i - 1}."],
        "answer": f"Fact {i}: {i} follows {i - 1}. It is also even or odd.",
    }
    for i in range(1, 7)
]
TERMINAL = ("completed", "failed", "cancelled")
# (fault, events, lost, duplicated, usage exact, recovery s, judge calls cut off by a kill)
RESULTS: list[tuple[str, int, int, int, str, float, int]] = []


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
            # A killed evaluator's runs are resumed once their lease lapses.
            "REX_EVALUATOR_RUN_LEASE_S": "6",
            "REX_EVALUATOR_MAINTENANCE_INTERVAL_S": "1",
            # Judge calls take a moment, so the SIGKILL finds evaluations half run.
            "REX_SIM_DELAY_MS": "150",
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
        if not os.environ.get("REX_FAULTS_KEEP"):
            shutil.rmtree(home, ignore_errors=True)
        else:
            print(f"fault suite home kept: {home}")


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
        for f, n, lost, dup, exact, rec, _ in RESULTS
    ]
    lines += [
        f"\n{f}: the provider answered {cut} judge call(s) within {KILL_WINDOW_S:g} s of the"
        " kill that the killed evaluator never recorded. A real provider bills them; they"
        " are not in the ledger, and not counted as lost above (the resumed run asked again)."
        for f, *_, cut in RESULTS
        if cut
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
    evaluations: bool = False,
) -> None:
    """Traffic with one fault in the middle; then the invariants, and a row for the report."""
    org = f"fault-{secrets.token_hex(4)}"
    calls = plan_calls(org, EVENTS)
    total = expected_total(calls)
    name = await _budget(fs, org, total)  # the last call takes usage exactly to 100%
    driver = Driver(fs.infra.bootstrap, calls, RATE)
    fault_done = asyncio.get_running_loop().create_future()
    submitted: list[str] = []

    enough = asyncio.Event()
    struck_at: list[datetime] = []

    async def strike() -> None:
        await asyncio.sleep(FAULT_AT_S)
        if evaluations:  # strike while accepted evaluations are running
            await asyncio.wait_for(enough.wait(), SETTLE_S)
        struck_at.append(datetime.now(UTC))
        await inject()
        fault_done.set_result(time.monotonic())

    async def submit() -> None:  # evaluations through the evaluator, alongside the events
        while not driver.done or not enough.is_set():
            evaluation_id = await _submit_evaluation(fs, org)
            if evaluation_id is not None:
                submitted.append(evaluation_id)
                if len(submitted) >= EVALUATIONS_BEFORE_FAULT:
                    enough.set()
            await asyncio.sleep(EVALUATION_EVERY_S)

    await asyncio.gather(driver.run(), strike(), *([submit()] if evaluations else []))
    if poison:
        await _poison_every_topic(fs, org)
    if replay:
        await driver.replay()
    made: list[LlmCallCompleted] = []
    stored: list[str] = []
    if evaluations:
        assert submitted, "no evaluation was accepted"
        made, stored = await _evaluation_calls(fs, org, submitted)
        total += expected_total(made)
    expected = EVENTS + len(made)
    observed, recovered_at = await _settle(fs, org, name, expected, total)
    # Call by call: exactly the calls made have a ledger entry (call_id is its key, so none
    # can have two).
    planned = {c.call_id for c in calls} | {c.call_id for c in made}
    recorded = await _ledger_call_ids(fs, org)
    # And from the provider's side: every judge call it served for these evaluations, with
    # the usage it counted, is in the ledger once at exactly the independent price.
    sim_url = f"http://127.0.0.1:{fs.stack.ports.sim}"
    killed_at = struck_at[0] if evaluations else None
    provider = await provider_check(sim_url, fs.infra.admin_dsn, stored, killed_at)
    lost = len(planned - recorded) + sum(1 for c in provider.lost if c.call_id not in planned)
    exact = observed.usage == total and provider.exact
    RESULTS.append(
        (
            fault,
            expected,
            lost,
            _duplicates(observed, expected) + provider.duplicated,
            "yes" if exact else "NO",
            max(0.0, recovered_at - fault_done.result()),
            len(provider.cut_off),
        )
    )
    assert _holds(observed, expected, total), (observed, expected, total)
    assert recorded == planned, (len(planned - recorded), len(recorded - planned))
    _assert_provider_matches(provider, evaluations)
    await _check_dead_letters(fs, org, expected=3 if poison else 0)


def _assert_provider_matches(provider: ProviderCheck, evaluations: bool) -> None:
    assert not provider.lost, [(c.call_id, c.answered_at) for c in provider.lost]
    assert provider.duplicated == 0 and provider.exact, provider
    if evaluations:  # the evaluations made judge calls, and the provider saw them by id
        assert provider.served > 0, "the provider served no judge call of these evaluations"


async def _ledger_call_ids(fs: FaultSystem, org: str) -> set[UUID]:
    conn = await asyncpg.connect(fs.infra.admin_dsn)
    try:
        rows = await conn.fetch("SELECT call_id FROM ledger.ledger_entries WHERE org_id = $1", org)
    finally:
        await conn.close()
    return {r["call_id"] for r in rows}


def _duplicates(o: Observed, expected: int) -> int:
    over = [max(0, n - 1) for n in o.alerts_per_threshold.values()]
    return (
        max(0, o.ledger_rows - expected)
        + sum(over)
        + max(0, o.mails - o.alerts_sent)
        + max(0, o.posts - o.alerts_sent)
    )


async def _settle(
    fs: FaultSystem, org: str, name: str, n: int, total: Decimal, limit_s: float = SETTLE_S
) -> tuple[Observed, float]:
    deadline = time.monotonic() + limit_s
    while True:
        observed = await observe(fs.infra.admin_dsn, org, name, fs.sinks)
        if _holds(observed, n, total) or time.monotonic() > deadline:
            return observed, time.monotonic()
        await asyncio.sleep(0.5)


async def _submit_evaluation(fs: FaultSystem, org: str) -> str | None:
    """Submit a small evaluation; None when the evaluator is down (nothing was accepted)."""
    token = fs.verifier.mint(sub="driver", org_id=org, roles=["member"])
    body = {
        "project_id": "proj-faults",
        "metrics": ["faithfulness"],
        "judge": {"provider": "openai", "model": "gpt-4o-mini"},
        "rows": EVALUATION_ROWS,
    }
    try:
        async with httpx.AsyncClient(base_url=fs.stack.url("evaluator"), timeout=10) as client:
            r = await client.post(
                "/api/v1/evaluations", headers={"Authorization": f"Bearer {token}"}, json=body
            )
    except httpx.TransportError:
        return None  # refused, or cut off by the kill (stored or not: _evaluation_calls looks)
    if r.status_code >= 500:
        return None
    assert r.status_code == 202, r.text
    return str(r.json()["data"]["id"])


async def _evaluation_calls(
    fs: FaultSystem, org: str, submitted: list[str], limit_s: float = SETTLE_S
) -> tuple[list[LlmCallCompleted], list[str]]:
    """Once every accepted evaluation finished: the calls it made (the evaluator's own record),
    each of them published on llm.call.completed; and the accepted evaluations' ids.

    Accepted = stored by the evaluator, which includes a submission whose 202 was cut off by
    the kill after its commit: that evaluation is resumed and its calls are real."""
    conn = await asyncpg.connect(fs.infra.admin_dsn)
    try:
        stored = {
            str(r["id"])
            for r in await conn.fetch("SELECT id FROM evaluator.evaluations WHERE org_id = $1", org)
        }
    finally:
        await conn.close()
    assert set(submitted) <= stored, set(submitted) - stored
    submitted = sorted(stored)
    token = fs.verifier.mint(sub="driver", org_id=org, roles=["member"])
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + limit_s
    pending = set(submitted)
    async with httpx.AsyncClient(base_url=fs.stack.url("evaluator"), timeout=10) as client:
        while pending and time.monotonic() < deadline:
            for evaluation_id in sorted(pending):
                with contextlib.suppress(httpx.TransportError):
                    r = await client.get(f"/api/v1/evaluations/{evaluation_id}", headers=headers)
                    if r.status_code == 200 and r.json()["data"]["status"] in TERMINAL:
                        assert r.json()["data"]["status"] == "completed", r.json()["data"]
                        pending.discard(evaluation_id)
            await asyncio.sleep(0.5)
    assert not pending, f"evaluations not finished after {limit_s}s: {sorted(pending)}"
    conn = await asyncpg.connect(fs.infra.admin_dsn)
    try:
        recorded = await conn.fetchval(
            "SELECT count(*) FROM evaluator.llm_calls WHERE evaluation_id = ANY($1::uuid[])",
            [UUID(e) for e in submitted],
        )
    finally:
        await conn.close()
    ids = set(submitted)
    deadline = time.monotonic() + limit_s
    while True:
        records = await read_topic(fs.infra.bootstrap, topics.LLM_CALL_COMPLETED, org.encode())
        events = [LlmCallCompleted.model_validate_json(r.value) for r in records]
        # By call id: the outbox publishes at least once (a relay killed between the send and
        # marking the rows sent sends them again); the ledger must count each call once.
        made = {e.call_id: e for e in events if str(e.evaluation_id) in ids}
        if len(made) >= recorded or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert len(made) == recorded, (len(made), recorded)
    return list(made.values()), submitted


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


@pytest.mark.parametrize("service", ["evaluator", "cost-ledger", "budget", "notifier"])
async def test_a_service_killed_mid_stream_loses_and_doubles_nothing(
    fs: FaultSystem, service: str
) -> None:
    await scenario(
        fs,
        f"SIGKILL {service}",
        _kill_and_restart(fs, service),
        evaluations=service == "evaluator",
    )


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
