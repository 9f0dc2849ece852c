"""Exactness under fire: usage equals the ledger's sum after duplicates and a SIGKILL.

Used by the integration test (10,000 events) and `bench/budget_exactness.py` (100,000).
"""

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4, uuid5

import asyncpg
from aiokafka import AIOKafkaProducer
from budget.domain.exact import exact
from rex_shared import cloudevents, topics
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.events import REX_NAMESPACE, CostComponents, LlmCostRecorded, Usage
from rex_shared.kafka import make_producer

from rex_testkit.budget.harness import ScratchDatabase, ServeProcess, migrations_dir
from rex_testkit.kafka import fresh_group

USERS, PROJECTS = 5, 2
BUDGETS = {
    "org": ("organization", None),
    "proj-0": ("project", "proj-0"),
    "user-0": ("user", "user-0"),
}


@dataclass(frozen=True)
class Exactness:
    """What one run saw."""

    events: int
    published: int
    counted_at_kill: int
    expected: dict[str, Decimal]
    actual: dict[str, Decimal]
    seconds: float

    @property
    def exact(self) -> bool:
        return self.expected == self.actual


def ledger_events(org: str, n: int, seed: int) -> list[tuple[OutgoingEvent, LlmCostRecorded]]:
    """`n` priced costs with 18-decimal amounts, some of them negative adjustments."""
    rng, now = random.Random(seed), datetime.now(UTC)
    out = []
    for i in range(n):
        call_id = UUID(int=rng.getrandbits(128))
        amount = Decimal(rng.randrange(-(10**15), 5 * 10**16)).scaleb(-18)
        data = LlmCostRecorded(
            call_id=call_id,
            org_id=org,
            project_id=f"proj-{i % PROJECTS}",
            user_id=f"user-{i % USERS}",
            provider="openai",
            model="gpt-4o-mini",
            status="priced",
            usage=Usage(input_tokens=100, output_tokens=10),
            cost=CostComponents(total=amount),
            occurred_at=now,
            recorded_at=now,
        )
        event_id = str(uuid5(REX_NAMESPACE, f"cost:{call_id}"))
        out.append(
            (
                cloudevents.build(
                    data, source="rex/cost-ledger", event_id=event_id, key=str(call_id)
                ),
                data,
            )
        )
    return out


def expected_sums(events: Sequence[LlmCostRecorded]) -> dict[str, Decimal]:
    """What the ledger says each budget spent: exact sums."""
    sums = dict.fromkeys(BUDGETS, Decimal(0))
    with exact():
        for e in events:
            sums["org"] += e.cost.total
            if e.project_id == "proj-0":
                sums["proj-0"] += e.cost.total
            if e.user_id == "user-0":
                sums["user-0"] += e.cost.total
    return sums


async def _seed(conn: asyncpg.Connection, org: str) -> dict[str, UUID]:
    ids = {}
    for name, (kind, entity) in BUDGETS.items():
        ids[name] = uuid4()
        await conn.execute(
            "INSERT INTO budgets (id, org_id, name, type, entity_id, limit_amount, period)"
            " VALUES ($1, $2, $3, $4, $5, 1000000000, 'monthly')",
            ids[name],
            org,
            name,
            kind,
            entity or org,
        )
    return ids


async def _usage(conn: asyncpg.Connection, ids: dict[str, UUID]) -> tuple[dict[str, Decimal], int]:
    rows = await conn.fetch(
        "SELECT budget_id, sum(usage_amount) AS usage, sum(events) AS events FROM budget_periods"
        " WHERE budget_id = ANY($1::uuid[]) GROUP BY budget_id",
        list(ids.values()),
    )
    by_id = {r["budget_id"]: r for r in rows}
    usage = {n: (by_id[i]["usage"] if i in by_id else Decimal(0)) for n, i in ids.items()}
    counted = int(by_id[ids["org"]]["events"]) if ids["org"] in by_id else 0
    return {n: Decimal(format(u.normalize(), "f")) for n, u in usage.items()}, counted


async def _publish(producer: AIOKafkaProducer, events: list[OutgoingEvent], seed: int) -> int:
    """Every event once, and a tenth of them again later (a ledger re-sending)."""
    rng, sent = random.Random(seed + 1), 0
    for start in range(0, len(events), 1000):
        chunk = events[start : start + 1000]
        again = rng.sample(events[: start + len(chunk)], len(chunk) // 10)
        futures = [
            await producer.send(
                e.topic, e.data, key=e.key.encode() if e.key else None, headers=e.headers()
            )
            for e in chunk + again
        ]
        await asyncio.gather(*futures)
        sent += len(futures)
    return sent


async def run_exactness(
    *,
    n: int,
    admin_dsn: str,
    bootstrap: str,
    jwt_secret: str,
    kill_at: float = 0.3,
    seed: int = 7,
    within: float = 120.0,
    log_path: Path | None = None,
) -> Exactness:
    """Publish `n` costs (plus duplicates), SIGKILL the service part-way, restart it, and
    compare every budget's usage with the ledger's exact sum."""
    started = time.monotonic()
    scratch = await ScratchDatabase.create(admin_dsn, migrations_dir())
    conn = await asyncpg.connect(
        scratch.dsn, server_settings={"search_path": "budget", "app.rls_bypass": "on"}
    )
    try:
        org = f"org-exact-{uuid4().hex[:8]}"
        ids = await _seed(conn, org)
        group = await fresh_group(bootstrap, [topics.LLM_COST_RECORDED], prefix="budget-exact")
        env = {
            **scratch.env(),
            "REX_KAFKA_BOOTSTRAP": bootstrap,
            "REX_JWT_SECRET": jwt_secret,
            "REX_ENV": "test",
            "REX_LOG_LEVEL": "WARNING",
            "REX_BUDGET_CONSUMER_GROUP": group,
            # The killed instance's partitions move to the restarted one sooner.
            "REX_BUDGET_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        }
        service = ServeProcess(env, log_path=log_path)
        service.start()
        pairs = ledger_events(org, n, seed)
        producer = make_producer(bootstrap, client_id="budget-exactness")
        await producer.start()
        try:
            published, counted_at_kill = await asyncio.gather(
                _publish(producer, [e for e, _ in pairs], seed),
                _kill_part_way(conn, ids, service, int(n * kill_at), within),
            )
        finally:
            await producer.stop()
        restarted = ServeProcess(env, log_path=log_path)
        restarted.start()
        try:
            actual = await _settled(conn, ids, n, within)
        finally:
            restarted.stop()
        expected = expected_sums([d for _, d in pairs])
        return Exactness(
            n, published, counted_at_kill, expected, actual, time.monotonic() - started
        )
    finally:
        await conn.close()
        await scratch.drop()


async def _kill_part_way(
    conn: asyncpg.Connection, ids: dict[str, UUID], service: ServeProcess, at: int, within: float
) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        _, counted = await _usage(conn, ids)
        if counted >= at:
            service.kill()
            return (await _usage(conn, ids))[1]
        await asyncio.sleep(0.02)
    service.kill()
    raise TimeoutError(f"fewer than {at} events counted within {within}s")


async def _settled(
    conn: asyncpg.Connection, ids: dict[str, UUID], n: int, within: float
) -> dict[str, Decimal]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        _, counted = await _usage(conn, ids)
        if counted >= n:
            # Duplicates still in flight would show as more events or other sums: look again.
            await asyncio.sleep(1.0)
            return (await _usage(conn, ids))[0]
        await asyncio.sleep(0.2)
    raise TimeoutError(f"not all {n} events counted within {within}s")
