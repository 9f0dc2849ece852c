"""Budget pre-flight latency, open loop: `POST /budgets/check` and `POST /budgets/reservations`.

Requests are scheduled at fixed intervals whatever the replies do (open loop), and each
latency is measured from the request's *scheduled* time, so a stalled server is charged for
the requests it delayed (no coordinated omission). Runs its own `python -m budget serve` on
a scratch database (Kafka and PostgreSQL from REX_KAFKA_BOOTSTRAP / REX_PG_ADMIN_DSN,
default the local ones), rate limits off, one process. Client: aiohttp with keep-alive.

Targets: check p99 < 5 ms at 500 rps; reservation p99 < 10 ms at 200 rps. Then each is
stepped up to find the highest offered rate still served with p99 < 100 ms. The server's
CPU time per request is reported too: on a shared machine it moves less than latency does.

    uv run python bench/budget_check.py [--seconds 10] [--step-seconds 5]
"""

import argparse
import asyncio
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import uuid4

import aiohttp
from budget.harness import Running, local_service
from rich.console import Console
from rich.table import Table

console = Console()
USERS = 20
CHECK_TARGET_MS, RESERVE_TARGET_MS, BOUND_MS = 5.0, 10.0, 100.0
STEPS = (50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000)
Send = Callable[[int], Awaitable[int]]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One constant-rate phase."""

    name: str
    rate: float
    latencies_ms: list[float]
    errors: int
    seconds: float
    server_cpu_ms: float = float("nan")

    def q(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(p * len(data)))] if data else float("inf")

    @property
    def served(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    @property
    def healthy(self) -> bool:
        return self.errors <= 0.001 * len(self.latencies_ms) and self.q(0.99) < BOUND_MS


async def open_loop(
    name: str, rate: float, seconds: float, send: Send, ok: set[int], pid: int
) -> Run:
    """Fire `send(i)` at `rate` per second for `seconds`, each on its own schedule."""
    loop = asyncio.get_running_loop()
    total, latencies, errors = int(rate * seconds), [], 0
    cpu_before, start = cpu_seconds(pid), loop.time() + 0.05
    pending: set[asyncio.Task[None]] = set()

    async def one(i: int, due: float) -> None:
        nonlocal errors
        try:
            errors += await send(i) not in ok
        except (aiohttp.ClientError, TimeoutError):
            errors += 1
        latencies.append((loop.time() - due) * 1000)

    for i in range(total):
        due = start + i / rate
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(i, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    run = Run(name, rate, latencies, errors, loop.time() - start)
    run.server_cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / max(len(latencies), 1)
    return run


async def setup(service: Running, session: aiohttp.ClientSession, org: str) -> None:
    """An org, a project and per-user budgets, all hard, far from their limits."""
    admin, url = service.headers(org), f"{service.process.url}/api/v1/budgets"
    budgets = [("organization", org), ("project", "proj-1")]
    budgets += [("user", f"user-{u}") for u in range(USERS)]
    for kind, entity in budgets:
        body = {
            "name": f"{kind} {entity}",
            "type": kind,
            "entity_id": entity,
            "limit_amount": "1000000000",
            "period": "monthly",
            "is_hard_limit": True,
        }
        async with session.post(url, json=body, headers=admin) as reply:
            assert reply.status == 201, await reply.text()


def senders(service: Running, session: aiohttp.ClientSession, org: str) -> tuple[Send, Send]:
    """`check(i)` and `reserve(i)` as the evaluator would call them (a service token)."""
    url, headers = service.process.url, service.headers(org, "evaluator", "service")
    rng = random.Random(5)

    async def check(i: int) -> int:
        body = {"project_id": "proj-1", "user_id": f"user-{i % USERS}", "estimated_cost": "0.25"}
        async with session.post(f"{url}/api/v1/budgets/check", json=body, headers=headers) as r:
            await r.read()
            return r.status

    async def reserve(i: int) -> int:
        body = {
            "project_id": "proj-1",
            "user_id": f"user-{rng.randrange(USERS)}",
            "estimated_cost": "0.25",
            "evaluation_id": str(uuid4()),
        }
        path = f"{url}/api/v1/budgets/reservations"
        async with session.post(path, json=body, headers=headers) as r:
            await r.read()
            return r.status

    return check, reserve


async def step_up(
    name: str, send: Send, ok: set[int], seconds: float, top: float, pid: int
) -> tuple[float, list[Run]]:
    """Raise the offered rate step by step until p99 passes the bound; the last healthy."""
    best, runs = 0.0, []
    for rate in (r for r in STEPS if r <= top):
        run = await open_loop(name, rate, seconds, send, ok, pid)
        runs.append(run)
        if not run.healthy:
            break
        best = rate
        await asyncio.sleep(1.0)  # let queues drain between steps
    return best, runs


def report(runs: list[Run]) -> None:
    table = Table(title="budget pre-flight, open loop (latency from the scheduled time)")
    columns = ("offered rps", "served rps", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors")
    table.add_column("phase")
    for col in (*columns, "server CPU ms/req"):
        table.add_column(col, justify="right")
    for r in runs:
        table.add_row(
            r.name,
            f"{r.rate:.0f}",
            f"{r.served:.0f}",
            f"{r.q(0.5):.2f}",
            f"{r.q(0.9):.2f}",
            f"{r.q(0.99):.2f}",
            f"{max(r.latencies_ms, default=0):.1f}",
            str(r.errors),
            f"{r.server_cpu_ms:.2f}",
        )
    console.print(table)


def bench_line(metric: str, value: float, unit: str, target: float | None = None) -> str:
    if target is None:
        return f"BENCH budget_check {metric}={value:.2f} {unit} info"
    verdict = "pass" if value < target else "short"
    return f"BENCH budget_check {metric}={value:.2f} {unit} target={target:g} {verdict}"


async def measure(service: Running, args: argparse.Namespace) -> list[str]:
    connector = aiohttp.TCPConnector(limit=args.connections, keepalive_timeout=60)
    assert service.process.proc is not None
    pid = service.process.proc.pid
    async with aiohttp.ClientSession(connector=connector) as session:
        org = f"org-bench-{uuid4().hex[:8]}"
        await setup(service, session, org)
        check, reserve = senders(service, session, org)
        await open_loop("warm-up", 100, 3, check, {200}, pid)
        check_run = await open_loop("check", args.check_rate, args.seconds, check, {200}, pid)
        await asyncio.sleep(1.0)
        reserve_run = await open_loop(
            "reservation", args.reserve_rate, args.seconds, reserve, {201}, pid
        )
        await asyncio.sleep(1.0)
        check_best, check_steps = await step_up(
            "check step", check, {200}, args.step_seconds, args.top, pid
        )
        reserve_best, reserve_steps = await step_up(
            "reservation step", reserve, {201}, args.step_seconds, args.top, pid
        )
    report([check_run, reserve_run, *check_steps, *reserve_steps])
    rate_c, rate_r = f"{args.check_rate:.0f}rps", f"{args.reserve_rate:.0f}rps"
    return [
        bench_line(f"check_p99_at_{rate_c}", check_run.q(0.99), "ms", CHECK_TARGET_MS),
        bench_line(f"reservation_p99_at_{rate_r}", reserve_run.q(0.99), "ms", RESERVE_TARGET_MS),
        bench_line("check_max_rps_p99_under_100ms", check_best, "rps"),
        bench_line("reservation_max_rps_p99_under_100ms", reserve_best, "rps"),
        bench_line("check_server_cpu", check_run.server_cpu_ms, "ms/req"),
        bench_line("reservation_server_cpu", reserve_run.server_cpu_ms, "ms/req"),
    ]


async def main(args: argparse.Namespace) -> None:
    admin_dsn = os.environ.get("REX_PG_ADMIN_DSN", "postgresql://rex@127.0.0.1:5433/rex")
    bootstrap = os.environ.get("REX_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    env = {
        "REX_BUDGET_RATE_LIMIT_PER_PRINCIPAL": "0",
        "REX_BUDGET_RATE_LIMIT_PER_ORG": "0",
        "REX_BUDGET_DB_POOL_SIZE": str(args.pool),
    }
    async with local_service(admin_dsn=admin_dsn, bootstrap=bootstrap, env=env) as service:
        lines = await measure(service, args)
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="each target phase")
    parser.add_argument("--step-seconds", type=float, default=5.0, help="each step-up phase")
    parser.add_argument("--check-rate", type=float, default=500.0)
    parser.add_argument("--reserve-rate", type=float, default=200.0)
    parser.add_argument("--top", type=float, default=6000.0, help="highest rate to try")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--pool", type=int, default=20, help="the service's database pool")
    asyncio.run(main(parser.parse_args()))
