"""A real `python -m notifier serve`, killed with SIGKILL during a burst of 500 alerts and
started again: every alert is delivered to each channel, and a duplicate can only be a send
the server had already taken before the kill."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from notifier.domain.samples import threshold_crossed
from rex_shared import cloudevents
from rex_testkit.infra import Infra
from rex_testkit.pg import role_dsns
from rex_testkit.ports import free_port

ALERTS = 500
Headers = Callable[..., dict[str, str]]


def _env(
    infra: Infra, dsn: str, jwt_secret: str, keks: str, group: str, port: int
) -> dict[str, str]:
    return {
        **os.environ,
        "REX_ENV": "test",
        "REX_LOG_LEVEL": "WARNING",
        "REX_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "REX_JWT_SECRET": jwt_secret,
        "REX_KEKS": keks,
        "REX_NOTIFIER_DATABASE_URL": role_dsns(infra, schema="notifier")[0],
        "REX_NOTIFIER_WORKER_DATABASE_URL": role_dsns(infra, schema="notifier")[1],
        "REX_NOTIFIER_MIGRATE_DATABASE_URL": dsn,
        "REX_NOTIFIER_PORT": str(port),
        "REX_NOTIFIER_CONSUMER_GROUP": group,
        "REX_NOTIFIER_CHANNEL_NAME": group,
        "REX_NOTIFIER_EMAIL_TO": "",  # the org gets channels of its own
        # A short lease, so sends cut off by the kill come back within seconds, not minutes.
        "REX_NOTIFIER_WORKER_LEASE_S": "3",
        "REX_NOTIFIER_SMTP_TIMEOUT_S": "2",
        "REX_NOTIFIER_WEBHOOK_TIMEOUT_S": "2",
        "REX_NOTIFIER_WORKER_POLL_S": "0.2",
        "REX_NOTIFIER_BACKOFF_BASE_S": "0.2",
        "REX_NOTIFIER_BACKOFF_MAX_S": "1",
    }


@contextmanager
def _serve(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "notifier", "serve"], env=env, stdout=out, stderr=out
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _until_ready(port: int, log: Path, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"notifier not ready:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def _channels(port: int, headers: dict[str, str], smtp_port: int, hook: str) -> None:
    fast = {"per_second": 10_000, "burst": 10_000}
    specs = [
        {"kind": "email", "name": "mail", "rate_limit": fast, "config": {
            "host": "127.0.0.1", "port": smtp_port, "tls": "none",
            "sender": "rex@example.com", "recipients": ["ops@example.com"]}},
        {"kind": "webhook", "name": "hook", "rate_limit": fast,
         "secrets": {"url": hook, "signing_secret": "k" * 40}},
    ]  # fmt: skip
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for spec in specs:
            response = await client.post(
                "/api/v1/notifications/channels", json=spec, headers=headers
            )
            assert response.status_code == 201, response.text


async def _burst(producer: AIOKafkaProducer, org: str) -> None:
    sample = threshold_crossed(kind="actual", severity="critical")
    futures = []
    for i in range(ALERTS):
        event = sample.model_copy(update={"org_id": org, "alert_id": uuid4(),
                                          "budget_name": f"Burst {i}"})  # fmt: skip
        out = cloudevents.build(event, source="test", event_id=str(event.alert_id), key=org)
        futures.append(
            await producer.send(out.topic, value=out.data, key=org.encode(), headers=out.headers())
        )
    await asyncio.gather(*futures)


def _copies(ids: list[str], times: list[float]) -> tuple[Counter[str], dict[str, float]]:
    first: dict[str, float] = {}
    for delivery_id, at in zip(ids, times, strict=True):
        first.setdefault(delivery_id, at)
    return Counter(ids), first


async def test_a_killed_notifier_restarts_and_delivers_every_alert_of_the_burst(
    infra: Infra, notifier_dsn: str, jwt_secret: str, keks: str, producer: AIOKafkaProducer,
    pool: asyncpg.Pool, org: str, smtp: Any, webhook: Any, auth_headers: Headers,
    fresh_group: Callable[[], Awaitable[str]], tmp_path: Path,
) -> None:  # fmt: skip
    port, log = free_port(), tmp_path / "notifier.log"
    env = _env(infra, notifier_dsn, jwt_secret, keks, await fresh_group(), port)

    def received() -> tuple[list[str], list[float]]:
        mail = [str(m["X-REX-Delivery-Id"]) for m in list(smtp.messages)]
        hooks = [p.headers["X-Rex-Delivery-Id"] for p in list(webhook.requests)]
        return mail + hooks, list(smtp.arrivals) + [p.at for p in list(webhook.requests)]

    t0 = time.monotonic()
    with _serve(env, log) as first:
        await _until_ready(port, log)
        t_ready = time.monotonic()
        await _channels(port, auth_headers(org), smtp.port, webhook.url)
        await _burst(producer, org)
        deadline = time.monotonic() + 60
        while len(received()[0]) < 2 * ALERTS // 4:  # a quarter through the burst
            assert time.monotonic() < deadline, _tail(log)
            await asyncio.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
    at_kill = len(set(received()[0]))
    t_restart = time.monotonic()
    with _serve(env, log):
        deadline = time.monotonic() + 60
        while len(set(received()[0])) < 2 * ALERTS:
            assert time.monotonic() < deadline, f"{len(set(received()[0]))} delivered"
            await asyncio.sleep(0.1)
        t_done = time.monotonic()
        await asyncio.sleep(1.0)  # time for a late duplicate to show up, if there were one
    print(f"ready {t_ready - t0:.1f}s, killed {killed_at - t_ready:.1f}s later, "
          f"restarted and done in {t_done - t_restart:.1f}s")  # fmt: skip
    ids, times = received()
    copies, first_seen = _copies(ids, times)
    duplicated = {i: n for i, n in copies.items() if n > 1}
    statuses = await pool.fetch(
        "SELECT status, count(*) FROM deliveries WHERE org_id = $1 GROUP BY status", org
    )
    print(f"\nburst of {ALERTS} alerts x 2 channels: {at_kill} delivered before SIGKILL, "
          f"{len(copies)} after the restart, {sum(duplicated.values()) - len(duplicated)} "
          f"duplicates at the crash point")  # fmt: skip
    assert at_kill < 2 * ALERTS  # the kill landed during the burst
    assert len(copies) == 2 * ALERTS  # every alert, to both channels
    assert [(r["status"], r["count"]) for r in statuses] == [("sent", 2 * ALERTS)]
    # A duplicate only for a send the server had taken before the kill (its thread may record
    # it a moment after the kill), once, and no more of them than sends in flight.
    late = {i: (n, round(first_seen[i] - killed_at, 3)) for i, n in duplicated.items()}
    assert all(n == 2 and first_seen[i] < killed_at + 0.5 for i, n in duplicated.items()), late
    assert len(duplicated) <= 2 * 16, late
