"""Soak: a steady rate of LLM calls through the whole pipeline for a long while.

Calls completed are published as `llm.call.completed` (what the evaluator's outbox relay
publishes) at a steady rate; the ledger prices and records them and publishes
`llm.cost.recorded`; the budget counts them. Reports throughput, p50/p99 end-to-end latency
from call completed to budget usage updated (the budget transaction that counted it), and
each process's memory at start (services up, idle), after a one-minute warm-up, and at the
end; the growth target (<= 10 %) is judged from warm-up to end, so the first minute's caches
and pools filling are not mistaken for a leak.

Default 10 minutes at 1,000 calls/s; `--seconds 60` for a quick look. Runs its own services
(free ports, a temp REX_HOME) on a private Kafka and PostgreSQL it starts and stops (durable
settings, fsync on), or on the ones given by REX_KAFKA_BOOTSTRAP + REX_PG_ADMIN_DSN.

    uv run python bench/soak.py [--seconds 600] [--rate 1000]
"""

import argparse
import asyncio
import os
import random
import shutil
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import NAMESPACE_URL, uuid4, uuid5

import asyncpg
from aiokafka import AIOKafkaProducer
from rex_shared import cloudevents
from rex_shared.db import provision
from rex_shared.events import REX_NAMESPACE, LlmCallCompleted, Usage
from rexctl.infra import PrivateInfra
from rexctl.stack import SERVICES, Ports, Stack
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


console = Console()
WARMUP_S = 60


def rss_mb(pid: int | None) -> float:
    if not pid:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def call(org: str, rng: random.Random) -> LlmCallCompleted:
    now = datetime.now(UTC)
    return LlmCallCompleted(
        call_id=uuid4(),
        evaluation_id=uuid5(NAMESPACE_URL, org),
        metric="faithfulness",
        org_id=org,
        project_id="soak",
        user_id="soak",
        provider="openai",
        model="gpt-4o-mini-2024-07-18",
        requested_model="gpt-4o-mini",
        api="chat.completions",
        started_at=now - timedelta(milliseconds=300),
        completed_at=now,
        latency_ms=300,
        status="succeeded",
        usage=Usage(input_tokens=rng.randint(300, 3000), output_tokens=rng.randint(20, 400)),
    )


async def drive(
    bootstrap: str, org: str, rate: int, seconds: int, at_warmup: "asyncio.Event"
) -> int:
    rng = random.Random(1)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=262144,
    )
    await producer.start()
    sent, start = 0, time.monotonic()
    try:
        with Progress(
            TextColumn("soak {task.completed:,.0f} calls"),
            BarColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("soak", total=rate * seconds)
            while (elapsed := time.monotonic() - start) < seconds:
                due = int(elapsed * rate) - sent
                for _ in range(due):
                    e = cloudevents.build(call(org, rng), source="rex/soak")
                    await producer.send(
                        e.topic, value=e.data, key=e.id.encode(), headers=e.headers()
                    )
                sent += max(due, 0)
                progress.update(task, completed=sent)
                if elapsed >= WARMUP_S and not at_warmup.is_set():
                    at_warmup.set()
                await asyncio.sleep(0.01)
            await producer.flush()
    finally:
        await producer.stop()
    return sent


async def latencies(dsn: str, org: str, sent: int, wait_s: float = 120) -> list[float]:
    """Completed-at of each call to the budget's processing of its cost event (same clock)."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            done = await conn.fetchval(
                "SELECT coalesce(sum(p.events), 0) FROM budget.budget_periods p"
                " JOIN budget.budgets b ON b.id = p.budget_id WHERE b.org_id = $1",
                org,
            )
            if done >= sent:
                break
            await asyncio.sleep(1)
        calls = await conn.fetch(
            "SELECT call_id, occurred_at FROM ledger.ledger_entries WHERE org_id = $1", org
        )
        ids = [str(uuid5(REX_NAMESPACE, f"cost:{c['call_id']}")) for c in calls]
        done_at = {}
        for i in range(0, len(ids), 50_000):
            for r in await conn.fetch(
                "SELECT event_id, processed_at FROM budget.processed_events"
                " WHERE event_id = ANY($1::text[])",
                ids[i : i + 50_000],
            ):
                done_at[r["event_id"]] = r["processed_at"]
        ms = []
        for c in calls:
            seen = done_at.get(str(uuid5(REX_NAMESPACE, f"cost:{c['call_id']}")))
            if seen is not None:
                ms.append((seen - c["occurred_at"]).total_seconds() * 1000)
        return sorted(ms)
    finally:
        await conn.close()


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="rex-soak-"))
    infra: PrivateInfra | None = None
    bootstrap, admin = os.environ.get("REX_KAFKA_BOOTSTRAP"), os.environ.get("REX_PG_ADMIN_DSN")
    if not (bootstrap and admin):
        infra = PrivateInfra(home / "infra", free_port(), free_port(), free_port(), fast=False)
        console.print("starting a private Kafka and PostgreSQL ...")
        infra.start()
        bootstrap, admin = infra.bootstrap, infra.admin_dsn
    try:
        await soak(home, bootstrap, admin, args)
    finally:
        if infra is not None:
            infra.stop()
            shutil.rmtree(home, ignore_errors=True)


async def soak(home: Path, bootstrap: str, admin: str, args: argparse.Namespace) -> None:
    stack = Stack(
        home=home / "stack",
        kafka_bootstrap=bootstrap,
        pg_admin_dsn=admin,
        with_sinks=False,
        ports=Ports(
            **{
                k: free_port()
                for k in ("evaluator", "ledger", "budget", "notifier", "sim", "smtp", "slack")
            }
        ),
    )
    for _, _, schema, _ in SERVICES:
        await provision(admin, schema=schema, role=f"rex_{schema}", password=schema)
    stack.migrate()
    for proc in stack.processes():
        stack.start(proc, timeout=90)
    org = f"soak-{uuid4().hex[:8]}"
    try:
        await _budget(admin, org)
        names = [p.name for p in stack.processes()]
        mem_start = {n: rss_mb(stack.pid_of(n)) for n in names}
        at_warmup = asyncio.Event()
        mem_warm: dict[str, float] = {}

        async def sample_at_warmup() -> None:
            await at_warmup.wait()
            mem_warm.update({n: rss_mb(stack.pid_of(n)) for n in names})

        sampler = asyncio.create_task(sample_at_warmup())
        t0 = time.monotonic()
        sent = await drive(bootstrap, org, args.rate, args.seconds, at_warmup)
        lat = await latencies(admin, org, sent)
        elapsed = time.monotonic() - t0
        mem_end = {n: rss_mb(stack.pid_of(n)) for n in names}
        sampler.cancel()
    finally:
        for proc in reversed(stack.processes()):
            stack.stop(proc.name)
    _print(sent, len(lat), elapsed, lat, (mem_start, mem_warm or mem_start, mem_end), args)


async def _budget(dsn: str, org: str) -> None:
    # Straight into the budget's table: the soak measures the event path, not the API.
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO budget.budgets (id, org_id, name, type, entity_id, limit_amount, period,"
            " is_hard_limit) VALUES ($1, $2, 'soak', 'organization', $2, 1000000, 'monthly',"
            " false)",
            uuid4(),
            org,
        )
    finally:
        await conn.close()


def _print(
    sent: int,
    counted: int,
    elapsed: float,
    lat: list[float],
    mem: tuple[dict[str, float], dict[str, float], dict[str, float]],
    args: argparse.Namespace,
) -> None:
    m_start, m0, m1 = mem
    table = Table(title=f"Soak: {args.rate}/s for {args.seconds}s")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("calls sent / counted by budget", f"{sent:,} / {counted:,}")
    table.add_row("throughput (calls/s)", f"{counted / args.seconds:,.0f}")
    table.add_row("p50 / p99 end-to-end (ms)", f"{pct(lat, 0.5):.0f} / {pct(lat, 0.99):.0f}")
    table.add_row("elapsed incl. drain (s)", f"{elapsed:,.0f}")
    for name in m0:
        table.add_row(
            f"RSS {name} (MB) start / warm / end",
            f"{m_start[name]:.0f} / {m0[name]:.0f} / {m1[name]:.0f}",
        )
    console.print(table)
    growth = max((m1[n] / m0[n] - 1) * 100 for n in m0 if m0[n] == m0[n] and m0[n] > 0)
    thr = counted / args.seconds
    print(
        f"BENCH soak throughput={thr:.0f} calls/s target={args.rate} "
        f"{'pass' if counted >= sent and thr >= args.rate * 0.98 else 'short'}"
    )
    print(f"BENCH soak p99_e2e={pct(lat, 0.99):.0f} ms target=- info")
    print(
        f"BENCH soak max_rss_growth={growth:.1f} % target=10 {'pass' if growth <= 10 else 'short'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
