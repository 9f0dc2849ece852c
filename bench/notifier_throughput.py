"""Notifier delivery throughput to local sinks, through ONE `python -m notifier serve` process.

A burst of `budget.threshold.crossed` events for one organization with three channels of its
own (a signed webhook and a Slack webhook on a local aiohttp server, email on a local aiosmtpd
server; rate limits set out of the way) is published to the real Kafka; the notifier plans one
delivery per (event, channel) and sends them. A run's deliveries/s = distinct messages the sinks
accepted, divided by the wall time from its first publish to its last acceptance (everything
counted, nothing trimmed). The figure is the median of `--runs` bursts against one notifier.

It passes (target >= 200/s) only when every expected delivery arrived within `--deadline`, none
twice, with no failed attempt in the notifier's table and no message a sink could not read;
otherwise it says `short` and why. Wall time depends on what else the 2-core machine runs, so
the notifier's CPU per delivery (load-insensitive) and the load average are printed beside it.

    uv run python bench/notifier_throughput.py [--alerts 1000] [--runs 3] [--deadline 120]
                                               [--kinds webhook,slack,email]
"""

import argparse
import asyncio
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
from _stats import bench_line, percentile
from aiohttp import web
from aiokafka import AIOKafkaProducer
from notifier.adapters.renderer import EVENTS
from notifier.domain.samples import threshold_crossed
from rex_shared import cloudevents
from rex_shared.auth import JwtVerifier
from rex_shared.crypto import new_kek
from rex_shared.db import bypass_rls
from rex_shared.kafka import commit_groups_at_end, ensure_topics, make_producer
from rex_testkit.infra import Infra, acquire, release
from rex_testkit.pg import service_database, split_dsns
from rex_testkit.ports import free_port
from rex_testkit.smtp_sink import SmtpSink

TARGET = 200.0
LOGS = Path(__file__).resolve().parents[1] / ".rex" / "logs"


@dataclass
class Sinks:
    """Where the notifier's messages land: (arrival time, delivery id) per accepted message."""

    arrivals: list[tuple[float, str, str]] = field(default_factory=list)  # (at, kind, id)
    unique: set[tuple[str, str]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)  # messages a sink could not read
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, delivery_id: str) -> None:
        with self.lock:
            self.arrivals.append((time.monotonic(), kind, delivery_id))
            self.unique.add((kind, delivery_id))

    def error(self, kind: str, exc: Exception) -> None:
        with self.lock:
            self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")

    def counts(self) -> tuple[int, int]:
        """(messages accepted, distinct messages accepted) so far."""
        with self.lock:
            return len(self.arrivals), len(self.unique)

    def ids(self) -> list[str]:
        with self.lock:
            return [i for _, _, i in self.arrivals]

    def mail(self, raw: bytes) -> None:
        """Count one accepted mail by its delivery id (the SMTP sink's `on_message`)."""
        text = raw.decode("utf-8", "replace")
        marker = "X-REX-Delivery-Id: "
        try:
            start = text.index(marker) + len(marker)
            self.record("email", text[start : text.index("\n", start)].strip())
        except ValueError as exc:  # delivered, but not one we can count: an error of the run
            self.error("email", exc)


@asynccontextmanager
async def http_sink(sinks: Sinks) -> AsyncIterator[str]:
    """An aiohttp server taking Slack posts (/slack) and signed webhooks (/hook)."""

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        try:
            sinks.record("webhook", request.headers["X-Rex-Delivery-Id"])
        except KeyError as exc:  # delivered, but not one we can count: an error of the run
            sinks.error("webhook", exc)
        return web.Response(text="ok")

    async def slack(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            # Slack payloads carry no delivery id: the budget name holds run and alert number.
            sinks.record("slack", body["blocks"][1]["text"]["text"].split('"')[1])
        except (ValueError, LookupError, TypeError) as exc:
            sinks.error("slack", exc)
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.post("/hook", hook), web.post("/slack", slack)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def group_at_end(bootstrap: str, group: str) -> None:
    """Commit `group` at the end of every topic the notifier reads (it sees only new events)."""
    await commit_groups_at_end(bootstrap, [group], list(EVENTS))


@dataclass
class Setup:
    infra: Infra
    dsn: str
    jwt_secret: str = field(default_factory=lambda: uuid4().hex + uuid4().hex)
    keks: str = field(default_factory=lambda: new_kek("bench"))
    org: str = field(default_factory=lambda: f"bench-{uuid4().hex[:10]}")

    def headers(self) -> dict[str, str]:
        token = JwtVerifier(self.jwt_secret).mint(sub="bench", org_id=self.org, roles=["admin"])
        return {"Authorization": f"Bearer {token}"}

    def env(self, group: str, port: int, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "REX_ENV": "test",
            "REX_LOG_LEVEL": "WARNING",
            "REX_KAFKA_BOOTSTRAP": self.infra.kafka_bootstrap,
            "REX_JWT_SECRET": self.jwt_secret,
            "REX_KEKS": self.keks,
            # The request and worker roles serve and send; the owner (self.dsn) migrated.
            "REX_NOTIFIER_DATABASE_URL": split_dsns(self.dsn, schema="notifier")[0],
            "REX_NOTIFIER_WORKER_DATABASE_URL": split_dsns(self.dsn, schema="notifier")[1],
            "REX_NOTIFIER_PORT": str(port),
            "REX_NOTIFIER_CONSUMER_GROUP": group,
            "REX_NOTIFIER_CHANNEL_NAME": group,
            "REX_NOTIFIER_EMAIL_TO": "",
            **extra,
        }


@asynccontextmanager
async def infrastructure() -> AsyncIterator[Setup]:
    infra = acquire()
    try:
        dsn = await service_database(infra, service="notifier", schema="notifier")
        await ensure_topics(infra.kafka_bootstrap, list(EVENTS))
        setup = Setup(infra, dsn)
        try:
            yield setup
        finally:
            await cleanup(setup)
    finally:
        release(infra)


async def cleanup(setup: Setup) -> None:
    import asyncpg

    conn = await asyncpg.connect(setup.dsn, server_settings={"search_path": "notifier"})
    try:
        async with conn.transaction():
            await bypass_rls(conn)
            await conn.execute("DELETE FROM deliveries WHERE org_id = $1", setup.org)
            await conn.execute("DELETE FROM channels WHERE org_id = $1", setup.org)
    finally:
        await conn.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Served:
    port: int
    pid: int


@asynccontextmanager
async def notifier(setup: Setup, group: str, log: Path, **extra: str) -> AsyncIterator[Served]:
    """A `python -m notifier serve` process, ready."""
    port = free_port()
    process = spawn(setup.env(group, port, **extra), log)
    try:
        await ready(port, process, log)
        yield Served(port, process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `python -m notifier serve`, its output appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "notifier", "serve"], env=env, stdout=out, stderr=out
        )


def tail(log: Path) -> str:
    return log.read_text()[-2000:]


async def wait_until(check: Any, within: float, step: float = 0.05) -> bool:
    """Poll `check()` until it holds or `within` seconds pass; returns whether it held."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


async def ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"notifier exited:\n{tail(log)}")
            try:
                if (await client.get("/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("notifier not ready after 60 s")


def channel_specs(kinds: list[str], http: str, smtp_port: int) -> list[dict[str, Any]]:
    fast = {"per_second": 10_000, "burst": 10_000}
    specs = {
        "webhook": {"kind": "webhook", "name": "hook", "rate_limit": fast,
                    "secrets": {"url": f"{http}/hook", "signing_secret": "k" * 40}},
        "slack": {"kind": "slack", "name": "chat", "rate_limit": fast,
                  "secrets": {"webhook_url": f"{http}/slack"}},
        "email": {"kind": "email", "name": "mail", "rate_limit": fast, "config": {
            "host": "127.0.0.1", "port": smtp_port, "tls": "none",
            "sender": "rex@example.com", "recipients": ["ops@example.com"]}},
    }  # fmt: skip
    return [specs[k] for k in kinds]


async def create_channels(port: int, setup: Setup, specs: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for spec in specs:
            response = await client.post(
                "/api/v1/notifications/channels", json=spec, headers=setup.headers()
            )
            response.raise_for_status()


async def publish(
    bootstrap: str, org: str, count: int, *, prefix: str = "alert"
) -> tuple[float, float]:
    """Publish `count` threshold alerts for `org`, budgets named `<prefix>-<i>`; returns the
    time of the first send and the time the broker had them all."""
    kafka: AIOKafkaProducer = make_producer(bootstrap, client_id="bench-notifier")
    await kafka.start()
    sample = threshold_crossed(kind="actual", severity="critical")
    try:
        futures, first = [], time.monotonic()
        for i in range(count):
            event = sample.model_copy(
                update={"org_id": org, "alert_id": uuid4(), "budget_name": f"{prefix}-{i}"}
            )
            out = cloudevents.build(event, source="bench", event_id=str(event.alert_id), key=org)
            futures.append(
                await kafka.send(out.topic, value=out.data, key=org.encode(), headers=out.headers())
            )
        await asyncio.gather(*futures)
        return first, time.monotonic()
    finally:
        await kafka.stop()


@dataclass(frozen=True)
class Outcomes:
    """The org's delivery rows: how many were sent, and attempts that did not end in a send."""

    rows: int = 0
    sent: int = 0
    dead: int = 0
    failed_attempts: int = 0  # every attempt of a row beyond the one that sent it

    def __sub__(self, other: "Outcomes") -> "Outcomes":
        return Outcomes(
            self.rows - other.rows,
            self.sent - other.sent,
            self.dead - other.dead,
            self.failed_attempts - other.failed_attempts,
        )


_OUTCOMES = """
SELECT count(*)::int AS rows, count(*) FILTER (WHERE status = 'sent')::int AS sent,
       count(*) FILTER (WHERE status = 'dead')::int AS dead,
       (coalesce(sum(attempts), 0) - count(*) FILTER (WHERE status = 'sent'))::int AS failed,
       count(*) FILTER (WHERE status IN ('pending', 'failed') AND attempts > 0)::int AS leased
FROM deliveries WHERE org_id = $1
"""


async def outcomes(setup: Setup, *, settle_s: float = 5.0) -> Outcomes:
    """The org's rows once no claimed row is waiting for its `sent` commit (up to `settle_s`)."""
    conn = await asyncpg.connect(setup.dsn, server_settings={"search_path": "notifier"})
    try:
        deadline = time.monotonic() + settle_s
        while True:
            async with conn.transaction():
                await bypass_rls(conn)
                row = await conn.fetchrow(_OUTCOMES, setup.org)
            assert row is not None
            if row["leased"] == 0 or time.monotonic() > deadline:
                return Outcomes(row["rows"], row["sent"], row["dead"], row["failed"])
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


@dataclass
class Burst:
    """One burst of alerts and what became of it."""

    expected: int
    first_publish: float
    published: float
    end: float  # the last acceptance, or the deadline when not all arrived
    complete: bool
    arrivals: list[tuple[float, str, str]]
    cpu_s: float
    rows: Outcomes

    @property
    def delivered(self) -> int:
        return len({(k, i) for _, k, i in self.arrivals})

    @property
    def wall_s(self) -> float:
        return max(self.end - self.first_publish, 1e-6)

    @property
    def rate(self) -> float:
        """Distinct deliveries per second of wall time, first publish to last acceptance."""
        return self.delivered / self.wall_s

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / max(self.delivered, 1)

    @property
    def longest_gap_s(self) -> float:
        """The longest time without an acceptance (a retry backoff shows up here)."""
        times = [self.first_publish, *sorted(t for t, _, _ in self.arrivals)]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


async def burst(
    setup: Setup, sinks: Sinks, pid: int, *, number: int, alerts: int, kinds: list[str],
    deadline_s: float,
) -> Burst:  # fmt: skip
    """Publish `alerts` alerts and wait until the sinks have every delivery or the deadline."""
    expected = alerts * len(kinds)
    before, (base, base_unique) = await outcomes(setup), sinks.counts()
    cpu = cpu_seconds(pid)
    first, published = await publish(
        setup.infra.kafka_bootstrap, setup.org, alerts, prefix=f"run{number}"
    )
    complete = await wait_until(
        lambda: sinks.counts()[1] - base_unique >= expected,
        within=deadline_s - (time.monotonic() - first),
    )
    cpu = cpu_seconds(pid) - cpu
    with sinks.lock:
        arrivals = sinks.arrivals[base:]
    end = max(t for t, _, _ in arrivals) if complete else time.monotonic()
    rows = await outcomes(setup) - before
    return Burst(expected, first, published, end, complete, arrivals, cpu, rows)


async def run(alerts: int, kinds: list[str], runs: int, deadline_s: float) -> None:
    sinks = Sinks()
    smtp = SmtpSink(on_message=sinks.mail).start()
    load_before = os.getloadavg()[0]
    bursts: list[Burst] = []
    try:
        async with infrastructure() as setup, http_sink(sinks) as http:
            group = f"bench-notifier-{uuid4().hex[:8]}"
            await group_at_end(setup.infra.kafka_bootstrap, group)
            log = LOGS / "bench-notifier-throughput.log"
            async with notifier(setup, group, log) as served:
                await create_channels(served.port, setup, channel_specs(kinds, http, smtp.port))
                for number in range(1, runs + 1):
                    bursts.append(
                        await burst(
                            setup,
                            sinks,
                            served.pid,
                            number=number,
                            alerts=alerts,
                            kinds=kinds,
                            deadline_s=deadline_s,
                        )
                    )
                    if not bursts[-1].complete:
                        break  # the rest would only queue behind this one's leftovers
    finally:
        smtp.stop()
    with sinks.lock:
        duplicates = len(sinks.arrivals) - len(sinks.unique)
        sink_errors = list(sinks.errors)
    report(bursts, alerts, kinds, runs, duplicates, sink_errors, (load_before, os.getloadavg()[0]))


def report(
    bursts: list[Burst],
    alerts: int,
    kinds: list[str],
    runs: int,
    duplicates: int,
    sink_errors: list[str],
    load: tuple[float, float],
) -> None:
    print(f"\nnotifier throughput ({runs} x {alerts} alerts x {len(kinds)} channels: "
          f"{', '.join(kinds)})")  # fmt: skip
    print(f"  {'run':>3}  {'delivered':>11}  {'publish':>7}  {'wall':>7}  {'deliveries/s':>12}  "
          f"{'longest gap':>11}  {'failed att.':>11}  {'dead':>4}  "
          f"{'CPU/delivery':>12}")  # fmt: skip
    for n, b in enumerate(bursts, 1):
        print(f"  {n:>3}  {b.delivered:>5}/{b.expected:<5}  "
              f"{b.published - b.first_publish:>6.2f}s  {b.wall_s:>6.2f}s  {b.rate:>12.0f}  "
              f"{b.longest_gap_s:>10.2f}s  {b.rows.failed_attempts:>11}  {b.rows.dead:>4}  "
              f"{b.cpu_ms:>9.2f} ms")  # fmt: skip
    rate = percentile([b.rate for b in bursts], 0.5) if bursts else 0.0
    cpu_ms = percentile([b.cpu_ms for b in bursts], 0.5) if bursts else float("nan")
    failed = sum(b.rows.failed_attempts for b in bursts)
    dead = sum(b.rows.dead for b in bursts)
    missing = sum(b.expected - b.delivered for b in bursts)
    skipped = runs - len(bursts)
    problems = [
        *([f"{missing} deliveries missing at the deadline"] if missing else []),
        *([f"{skipped} runs not made after an incomplete one"] if skipped else []),
        *([f"{failed} failed attempts in the notifier"] if failed else []),
        *([f"{dead} deliveries dead"] if dead else []),
        *([f"{duplicates} duplicates at the sinks"] if duplicates else []),
        *([f"{len(sink_errors)} messages the sinks could not read"] if sink_errors else []),
        *([f"median {rate:.0f}/s below the target"] if rate < TARGET else []),
    ]
    rates = sorted(b.rate for b in bursts)
    spread = f"{rates[0]:.0f}-{rates[-1]:.0f}/s over {len(rates)} runs" if rates else "no run"
    cpus = os.cpu_count() or 1
    print(f"  deliveries/s, median (wall time, first publish -> last acceptance): "
          f"{rate:.0f}/s ({spread}); target >= {TARGET:.0f}/s")  # fmt: skip
    print(f"  notifier CPU per delivery, median: {cpu_ms:.2f} ms "
          f"(= {1000 / cpu_ms if cpu_ms > 0 else 0:.0f}/s if it had a core to itself)")  # fmt: skip
    busy = " (busy: expect a lower wall-time figure)" if max(load) > cpus / 2 else ""
    print(f"  load average (1 min) before/after: {load[0]:.2f}/{load[1]:.2f} on {cpus} CPUs{busy}")
    for problem in problems:
        print(f"  SHORT: {problem}")
    for error in sink_errors[:5]:
        print(f"    sink error: {error}")
    ok = not problems
    print(bench_line("notifier_throughput", "deliveries_per_s", rate, "/s", TARGET, ok, digits=0))
    print(bench_line("notifier_throughput", "cpu_per_delivery", cpu_ms, "ms"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=1000, help="alerts per run")
    parser.add_argument("--runs", type=int, default=3, help="bursts; the figure is their median")
    parser.add_argument(
        "--deadline", type=float, default=120.0, help="seconds a run may take from its publish"
    )
    parser.add_argument("--kinds", default="webhook,slack,email")
    args = parser.parse_args()
    asyncio.run(run(args.alerts, args.kinds.split(","), max(args.runs, 1), args.deadline))


if __name__ == "__main__":
    main()
