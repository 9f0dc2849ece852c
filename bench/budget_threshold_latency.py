"""From `llm.cost.recorded` published to `budget.threshold.crossed` published.

Runs its own `python -m budget serve` on a scratch database (Kafka and PostgreSQL from
REX_KAFKA_BOOTSTRAP / REX_PG_ADMIN_DSN, default the local ones). Each of N user budgets
($1, one threshold at 100 %) gets one cost of $1.50 at a steady rate, so every cost fires
exactly one alert. Latency per alert = the crossed event's Kafka timestamp (set by the
outbox relay's producer when it sent it) minus the time the cost was handed to Kafka; also
shown: until a consumer here received it. The path: consumer poll -> one transaction (usage,
firing, alert row, outbox row, NOTIFY) -> commit -> relay woken by LISTEN/NOTIFY -> Kafka.

Target: p99 < 500 ms.

    uv run python bench/budget_threshold_latency.py [--alerts 300] [--rate 30]
"""

import argparse
import asyncio
import json
import os
import time
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import aiohttp
from _stats import bench_line, percentile
from aiokafka import AIOKafkaConsumer, TopicPartition
from rex_shared import cloudevents, topics
from rex_shared.events import CostComponents, LlmCostRecorded, Usage
from rex_shared.kafka import make_producer
from rex_testkit.budget.harness import Running, local_service
from rich.console import Console
from rich.table import Table

TARGET_MS = 500.0


def cost(org: str, user: str) -> cloudevents.OutgoingEvent:
    now = datetime.now(UTC)
    data = LlmCostRecorded(
        call_id=uuid4(),
        org_id=org,
        project_id="proj-1",
        user_id=user,
        provider="openai",
        model="gpt-4o-mini",
        status="priced",
        usage=Usage(input_tokens=1000, output_tokens=100),
        cost=CostComponents(total=Decimal("1.5")),
        occurred_at=now,
        recorded_at=now,
    )
    return cloudevents.build(data, source="rex/cost-ledger", key=str(data.call_id))


async def budgets(service: Running, org: str, n: int) -> None:
    url, admin = f"{service.process.url}/api/v1/budgets", service.headers(org)
    async with aiohttp.ClientSession() as session:
        for i in range(n):
            body = {
                "name": f"user-{i}",
                "type": "user",
                "entity_id": f"user-{i}",
                "limit_amount": "1",
                "period": "monthly",
                "is_hard_limit": False,
                "thresholds": [100],
            }
            async with session.post(url, json=body, headers=admin) as reply:
                assert reply.status == 201, await reply.text()


async def tail_at_end(bootstrap: str) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    parts = consumer.partitions_for_topic(topics.BUDGET_THRESHOLD_CROSSED)
    if not parts:
        await consumer._client.force_metadata_update()  # a fresh client knows no topics yet
        parts = consumer.partitions_for_topic(topics.BUDGET_THRESHOLD_CROSSED) or set()
    tps = [TopicPartition(topics.BUDGET_THRESHOLD_CROSSED, p) for p in sorted(parts)]
    consumer.assign(tps)
    for tp, end in (await consumer.end_offsets(tps)).items():
        consumer.seek(tp, end)
    return consumer


async def collect(
    consumer: AIOKafkaConsumer, org: str, n: int, out: dict[str, tuple[float, float]], within: float
) -> None:
    """user -> (crossed event's Kafka timestamp, received here), wall-clock seconds."""
    deadline = time.monotonic() + within
    while len(out) < n and time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=100)
        now = time.time()
        for records in batches.values():
            for r in records:
                data = json.loads(r.value)
                if data["org_id"] == org and data["kind"] == "actual":
                    out[data["entity_id"]] = (r.timestamp / 1000, now)


async def drive(bootstrap: str, org: str, n: int, rate: float, sent: dict[str, float]) -> None:
    producer = make_producer(bootstrap, client_id="budget-latency-bench")
    await producer.start()
    try:
        start = time.monotonic()
        for i in range(n):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            event = cost(org, f"user-{i}")
            sent[f"user-{i}"] = time.time()
            await producer.send(
                event.topic,
                event.data,
                key=event.key.encode() if event.key else None,
                headers=event.headers(),
            )
        await producer.flush()
    finally:
        await producer.stop()


NAME = "budget_threshold_latency"


def q(values: list[float], p: float) -> float:
    return percentile(values, p) if values else float("inf")


async def main(args: argparse.Namespace) -> None:
    admin_dsn = os.environ.get("REX_PG_ADMIN_DSN", "postgresql://rex@127.0.0.1:5433/rex")
    bootstrap = os.environ.get("REX_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    org = f"org-latency-{uuid4().hex[:8]}"
    sent: dict[str, float] = {}
    seen: dict[str, tuple[float, float]] = {}
    async with local_service(admin_dsn=admin_dsn, bootstrap=bootstrap) as service:
        await budgets(service, org, args.alerts)
        consumer = await tail_at_end(bootstrap)
        try:
            await asyncio.gather(
                drive(bootstrap, org, args.alerts, args.rate, sent),
                collect(consumer, org, args.alerts, seen, args.alerts / args.rate + 30),
            )
        finally:
            await consumer.stop()
    to_publish = [(seen[u][0] - sent[u]) * 1000 for u in seen]
    to_receive = [(seen[u][1] - sent[u]) * 1000 for u in seen]
    title = "llm.cost.recorded -> budget.threshold.crossed"
    table = Table(title=f"{title} ({len(seen)}/{args.alerts} alerts, {args.rate:g}/s)")
    for col in ("measured to", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="right" if col != "measured to" else "left")
    for name, values in (
        ("crossed published (Kafka timestamp)", to_publish),
        ("crossed received here", to_receive),
    ):
        table.add_row(
            name,
            *(f"{q(values, p):.1f}" for p in (0.5, 0.9, 0.99)),
            f"{max(values, default=0):.1f}",
        )
    Console().print(table)
    # A missing alert is an error whatever the latency of the others: the verdict needs both.
    everyone = len(seen) == args.alerts
    p99 = q(to_publish, 0.99)
    print(bench_line(NAME, "p99", p99, "ms", TARGET_MS, everyone and p99 < TARGET_MS, digits=1))
    print(bench_line(NAME, "alerts", f"{len(seen)}/{args.alerts}", "alerts", "all", everyone))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=300, help="costs sent, one alert each")
    parser.add_argument("--rate", type=float, default=30.0, help="costs per second")
    asyncio.run(main(parser.parse_args()))
