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
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import NAMESPACE_URL, uuid4, uuid5

import asyncpg
from _stats import bench_line, percentile
from aiokafka import AIOKafkaProducer
from rex_shared import cloudevents
from rex_shared.db import provision
from rex_shared.events import REX_NAMESPACE, LlmCallCompleted, Usage
from rex_testkit.ports import free_port
from rexctl.infra import PrivateInfra
from rexctl.stack import SERVICES, Ports, Stack
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

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


@dataclass
class Counted:
    """What the budget counted of the calls sent, read from its own tables afterwards."""

    latencies_ms: list[float]  # completed-at to the budget's processing, per call counted
    budget_events: int  # events the budget's periods say they counted (> calls: doubles)
    span_s: float  # first call completed to last call counted
    drain_s: float  # last call completed to last call counted

    @property
    def counted(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        """Calls counted per second of wall time, the drain included."""
        return self.counted / self.span_s if self.span_s > 0 else 0.0


async def latencies(dsn: str, org: str, sent: int, wait_s: float = 120) -> Counted:
    """Completed-at of each call to the budget's processing of its cost event (same clock)."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline, done = time.monotonic() + wait_s, 0
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
        ms, first, last_call, last_seen = [], None, None, None
        for c in calls:
            seen = done_at.get(str(uuid5(REX_NAMESPACE, f"cost:{c['call_id']}")))
            if seen is not None:
                ms.append((seen - c["occurred_at"]).total_seconds() * 1000)
                first = min(first or c["occurred_at"], c["occurred_at"])
                last_call = max(last_call or c["occurred_at"], c["occurred_at"])
                last_seen = max(last_seen or seen, seen)
        if not (first and last_call and last_seen):
            return Counted([], int(done), 0.0, 0.0)
        return Counted(
            sorted(ms),
            int(done),
            (last_seen - first).total_seconds(),
            (last_seen - last_call).total_seconds(),
        )
    finally:
        await conn.close()


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
        counted = await latencies(admin, org, sent)
        elapsed = time.monotonic() - t0
        mem_end = {n: rss_mb(stack.pid_of(n)) for n in names}
        sampler.cancel()
    finally:
        for proc in reversed(stack.processes()):
            stack.stop(proc.name)
    _print(sent, counted, elapsed, (mem_start, mem_warm or mem_start, mem_end), args)


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
    c: Counted,
    elapsed: float,
    mem: tuple[dict[str, float], dict[str, float], dict[str, float]],
    args: argparse.Namespace,
) -> None:
    m_start, m0, m1 = mem
    lat = c.latencies_ms
    table = Table(title=f"Soak: {args.rate}/s offered for {args.seconds}s")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("calls sent / counted by budget", f"{sent:,} / {c.counted:,}")
    table.add_row("events in the budget's periods", f"{c.budget_events:,}")
    table.add_row("throughput (counted per wall second)", f"{c.throughput:,.0f}")
    p50, p99 = percentile(lat, 0.5), percentile(lat, 0.99)
    table.add_row("p50 / p99 end-to-end (ms)", f"{p50:.0f} / {p99:.0f}")
    table.add_row("drain after the last call (s)", f"{c.drain_s:,.1f}")
    table.add_row("elapsed incl. drain and read-back (s)", f"{elapsed:,.0f}")
    for name in m0:
        table.add_row(
            f"RSS {name} (MB) start / warm / end",
            f"{m_start[name]:.0f} / {m0[name]:.0f} / {m1[name]:.0f}",
        )
    console.print(table)
    growth = max((m1[n] / m0[n] - 1) * 100 for n in m0 if m0[n] == m0[n] and m0[n] > 0)
    lost, doubled = sent - c.counted, max(c.budget_events - c.counted, 0)
    # Kept up: every call counted once, at the offered rate per wall second, drain included
    # (a backlog that drains after the load stops shows as a lower rate and a long drain).
    kept_up = lost == 0 and doubled == 0 and c.throughput >= args.rate * 0.98
    for line in (
        bench_line(
            "soak", "throughput", c.throughput, "calls/s", f">={args.rate * 0.98:g}", kept_up, 0
        ),
        bench_line("soak", "counted", f"{c.counted}/{sent}", "calls", "all", lost == 0),
        bench_line("soak", "counted_twice", doubled, "calls", 0, doubled == 0),
        bench_line("soak", "p50_e2e", p50, "ms", digits=0),
        bench_line("soak", "p99_e2e", p99, "ms", digits=0),
        bench_line("soak", "drain", c.drain_s, "s", digits=1),
        bench_line("soak", "max_rss_growth", growth, "%", 10, growth <= 10, digits=1),
    ):
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
