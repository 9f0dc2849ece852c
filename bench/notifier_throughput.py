"""Notifier delivery throughput to local sinks, through ONE `python -m notifier serve` process.

A burst of `budget.threshold.crossed` events for one organization with three channels of its
own (a signed webhook and a Slack webhook on a local aiohttp server, email on a local aiosmtpd
server; rate limits set out of the way) is published to the real Kafka; the notifier plans one
delivery per (event, channel) and sends them. Deliveries/s = messages the sinks accepted
between 5 % and 95 % of the total, divided by that time (startup excluded). Target: >= 200/s.

    uv run python bench/notifier_throughput.py [--alerts 1000] [--kinds webhook,slack,email]
"""

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiosmtpd.controller import Controller
from notifier.domain.samples import threshold_crossed
from notifier.messages import EVENTS
from rex_shared import cloudevents
from rex_shared.auth import JwtVerifier
from rex_shared.crypto import new_kek
from rex_shared.db import bypass_rls
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.testing.infra import Infra, acquire, release
from rex_shared.testing.pg import service_database

TARGET = 200.0
LOGS = Path(__file__).resolve().parents[1] / ".rex" / "logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Sinks:
    """Where the notifier's messages land: (arrival time, delivery id) per accepted message."""

    arrivals: list[tuple[float, str, str]] = field(default_factory=list)  # (at, kind, id)
    fail_smtp_until: float = 0.0  # time.monotonic() before which the SMTP server is "down"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, delivery_id: str) -> None:
        with self.lock:
            self.arrivals.append((time.monotonic(), kind, delivery_id))

    def ids(self) -> list[str]:
        with self.lock:
            return [i for _, _, i in self.arrivals]


class _Mail:
    def __init__(self, sinks: Sinks) -> None:
        self.sinks = sinks

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        text = envelope.content.decode("utf-8", "replace")
        marker = "X-REX-Delivery-Id: "
        start = text.index(marker) + len(marker)
        self.sinks.record("email", text[start : text.index("\n", start)].strip())
        return "250 accepted"


@asynccontextmanager
async def http_sink(sinks: Sinks) -> AsyncIterator[str]:
    """An aiohttp server taking Slack posts (/slack) and signed webhooks (/hook)."""

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        sinks.record("webhook", request.headers["X-Rex-Delivery-Id"])
        return web.Response(text="ok")

    async def slack(request: web.Request) -> web.Response:
        body = await request.json()
        # Slack payloads carry no delivery id: the budget name holds the alert number.
        sinks.record("slack", body["blocks"][1]["text"]["text"].split('"')[1])
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
    """A fresh consumer group committed at the end of every budget topic."""
    kafka = make_producer(bootstrap, client_id="bench-notifier")
    await kafka.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        parts = [TopicPartition(t, p) for t in EVENTS for p in await kafka.partitions_for(t)]
        consumer.assign(parts)
        await consumer.commit(dict(await consumer.end_offsets(parts)))
    finally:
        await consumer.stop()
        await kafka.stop()


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
            "REX_NOTIFIER_DATABASE_URL": self.dsn,
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


async def publish(bootstrap: str, org: str, count: int) -> float:
    """Publish `count` threshold alerts for `org`; returns when the broker had them all."""
    kafka: AIOKafkaProducer = make_producer(bootstrap, client_id="bench-notifier")
    await kafka.start()
    sample = threshold_crossed(kind="actual", severity="critical")
    try:
        futures = []
        for i in range(count):
            event = sample.model_copy(
                update={"org_id": org, "alert_id": uuid4(), "budget_name": f"alert-{i}"}
            )
            out = cloudevents.build(event, source="bench", event_id=str(event.alert_id), key=org)
            futures.append(
                await kafka.send(out.topic, value=out.data, key=org.encode(), headers=out.headers())
            )
        await asyncio.gather(*futures)
        return time.monotonic()
    finally:
        await kafka.stop()


def rate_between(times: list[float], lo: float = 0.05, hi: float = 0.95) -> float:
    """Messages per second between the lo and hi fractions of all arrivals."""
    times = sorted(times)
    a, b = int(len(times) * lo), max(int(len(times) * hi) - 1, 0)
    return (b - a) / max(times[b] - times[a], 1e-6)


def verdict(value: float, target: float) -> str:
    return "pass" if value >= target else "short"


async def run(alerts: int, kinds: list[str]) -> None:
    sinks = Sinks()
    smtp = Controller(_Mail(sinks), hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        async with infrastructure() as setup, http_sink(sinks) as http:
            group = f"bench-notifier-{uuid4().hex[:8]}"
            await group_at_end(setup.infra.kafka_bootstrap, group)
            log = LOGS / "bench-notifier-throughput.log"
            async with notifier(setup, group, log) as served:
                await create_channels(served.port, setup, channel_specs(kinds, http, smtp.port))
                cpu, start = cpu_seconds(served.pid), time.monotonic()
                published = await publish(setup.infra.kafka_bootstrap, setup.org, alerts)
                expected = alerts * len(kinds)
                await wait_until(lambda: len(sinks.arrivals) >= expected, within=600)
                cpu = cpu_seconds(served.pid) - cpu
                report(sinks, alerts, kinds, start, published, cpu)
    finally:
        smtp.stop()


def report(
    sinks: Sinks, alerts: int, kinds: list[str], start: float, published: float, cpu: float
) -> None:
    arrivals = list(sinks.arrivals)
    expected = alerts * len(kinds)
    per_kind = Counter(k for _, k, _ in arrivals)
    unique = len({(k, i) for _, k, i in arrivals})
    times = [t for t, _, _ in arrivals]
    rate = rate_between(times) if len(times) > 20 else 0.0
    total_s = max(times) - start if times else float("nan")
    rows = [
        ("alerts published", f"{alerts}", f"in {published - start:.2f} s"),
        ("channels", ", ".join(kinds), ""),
        ("deliveries expected / accepted", f"{expected} / {len(arrivals)}", f"{unique} unique"),
        *((f"  {k}", str(n), "") for k, n in sorted(per_kind.items())),
        ("first publish -> last delivery", f"{total_s:.2f} s", ""),
        ("throughput (5 %-95 %)", f"{rate:.0f} deliveries/s", f"target >= {TARGET:.0f}/s"),
        (
            "notifier CPU per delivery",
            f"{1000 * cpu / max(len(arrivals), 1):.2f} ms",
            f"= {len(arrivals) / max(cpu, 1e-6):.0f}/s on one free core",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\nnotifier throughput ({alerts} alerts x {len(kinds)} channels)")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>24}  {note}")
    complete = unique == expected
    print(f"BENCH notifier_throughput deliveries_per_s={rate:.0f} /s target={TARGET:.0f} "
          f"{verdict(rate, TARGET) if complete else 'short'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--kinds", default="webhook,slack,email")
    args = parser.parse_args()
    asyncio.run(run(args.alerts, args.kinds.split(",")))


if __name__ == "__main__":
    main()
