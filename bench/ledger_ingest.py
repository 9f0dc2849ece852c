"""Ingest through real Kafka into PostgreSQL by ONE ledger process (`python -m cost_ledger serve`).

1. Sustained throughput: N `llm.call.completed` events are produced first, then a ledger
   process starts on them (fresh group); events/s = rows written per second between 5% and
   95% of the backlog (startup excluded). Target: >= 10,000 events/s.
2. Latency: with the ledger caught up, events are produced at a steady rate (default 2,000/s)
   and each row is looked for in PostgreSQL every few ms; event-to-row latency = from the
   event's send (= its completed_at) to its row being visible. Reported: p50/p99.

The ledger runs on its own topics, schema and consumer group (nothing else sees the events).
    uv run python bench/ledger_ingest.py [--events 100000] [--rate 2000] [--seconds 20]
"""

import argparse
import asyncio
import os
import random
import secrets
import time
import uuid
from pathlib import Path

import asyncpg
from _ledger_common import (
    LedgerProcess,
    Topics,
    connect,
    drop_schema,
    make_call,
    make_schema,
    producer,
    send,
)
from _stats import bench_line, percentile

TARGET_RATE = 10_000
LOG = Path(__file__).resolve().parents[1] / ".rex" / "logs" / "bench-ledger-ingest.log"


async def produce_backlog(topic: str, n: int, org: str) -> float:
    # About 20 evaluations in flight at once, each judging 500 rows with 5 metrics.
    rnd, evaluations = random.Random(7), [uuid.uuid4() for _ in range(20)]
    kafka = producer()
    await kafka.start()
    start = time.monotonic()
    try:
        futures = [await send(kafka, topic, make_call(org, evaluations, rnd)) for _ in range(n)]
        await asyncio.gather(*futures)
    finally:
        await kafka.stop()
    return n / (time.monotonic() - start)


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_now(db: asyncpg.Connection, schema: str, ledger_pid: int) -> tuple[float, float]:
    """(the ledger process's CPU s, its PostgreSQL backends' CPU s)."""
    backends = await db.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1", f"rex-{schema}"
    )
    return cpu_s(ledger_pid), sum(cpu_s(r["pid"]) for r in backends)


async def throughput(
    db: asyncpg.Connection, n: int, schema: str, pid: int
) -> tuple[float, float, tuple[float, float]]:
    """Rows per second between 5% and 95% of n, the time to n, and CPU us per event
    (ledger process, its PostgreSQL backends) over that window."""
    marks: list[tuple[float, int, tuple[float, float]]] = []
    start = time.monotonic()
    while True:
        count = await db.fetchval("SELECT count(*) FROM ledger_entries")
        marks.append((time.monotonic(), count, await cpu_now(db, schema, pid)))
        if count >= n:
            break
        if time.monotonic() - start > 600:
            raise TimeoutError(f"only {count} of {n} rows after 600 s")
        await asyncio.sleep(0.1)
    t0, c0, cpu0 = next(m for m in marks if m[1] >= 0.05 * n)
    t1, c1, cpu1 = next(m for m in marks if m[1] >= 0.95 * n)
    per_event = tuple((b - a) / (c1 - c0) * 1e6 for a, b in zip(cpu0, cpu1, strict=True))
    return (c1 - c0) / max(t1 - t0, 1e-6), marks[-1][0] - marks[0][0], per_event  # type: ignore[return-value]


class Watch:
    """Sent-but-not-yet-seen events, looked for in PostgreSQL every few milliseconds."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn, self.pending, self.found = conn, dict[uuid.UUID, float](), list[float]()
        self.done = asyncio.Event()

    async def _look(self) -> None:
        ids = list(self.pending)
        if not ids:
            return
        rows = await self.conn.fetch(
            "SELECT call_id FROM ledger_entries WHERE call_id = ANY($1::uuid[])", ids
        )
        seen = time.monotonic()
        for r in rows:
            self.found.append(seen - self.pending.pop(r["call_id"]))

    async def run(self, grace_s: float = 30) -> None:
        while not self.done.is_set():
            await self._look()
            await asyncio.sleep(0.005)
        deadline = time.monotonic() + grace_s
        while self.pending and time.monotonic() < deadline:
            await self._look()
            await asyncio.sleep(0.005)


async def latency(
    dsn: str, schema: str, topic: str, org: str, rate: int, seconds: int
) -> tuple[list[float], int]:
    """Event-to-row seconds of each event sent at `rate`, and how many never became a row."""
    rnd, evaluations = random.Random(11), [uuid.uuid4() for _ in range(20)]
    kafka = producer()
    await kafka.start()
    watch = Watch(await connect(dsn, schema))

    async def produce() -> None:
        tick, per_tick = 0.01, rate / 100
        start, sent = time.monotonic(), 0
        while time.monotonic() - start < seconds:
            due = int((time.monotonic() - start) / tick * per_tick) - sent
            for _ in range(max(due, 0)):
                call = make_call(org, evaluations, rnd)
                watch.pending[call.call_id] = time.monotonic()
                await send(kafka, topic, call)
                sent += 1
            await asyncio.sleep(tick)
        watch.done.set()

    try:
        await asyncio.gather(produce(), watch.run())
    finally:
        await kafka.stop()
        await watch.conn.close()
    return watch.found, len(watch.pending)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the schema and topics")
    args = parser.parse_args()
    schema, dsn = await make_schema("ledger_bench_")
    topics = await Topics.fresh()
    org = f"bench-{secrets.token_hex(4)}"
    ledger = LedgerProcess(schema=schema, dsn=dsn, topics=topics,
                           group=f"bench-ledger-{secrets.token_hex(4)}")  # fmt: skip
    LOG.parent.mkdir(parents=True, exist_ok=True)
    try:
        produced = await produce_backlog(topics.calls, args.events, org)
        print(
            f"produced {args.events} events at {produced:,.0f}/s; starting the ledger", flush=True
        )
        ledger.start(LOG)
        assert ledger.proc is not None
        print(f"ledger pid {ledger.proc.pid}", flush=True)
        conn = await connect(dsn, schema)
        try:
            rate, total, cpu = await throughput(conn, args.events, schema, ledger.proc.pid)
            pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        finally:
            await conn.close()
        waits, missing = await latency(dsn, schema, topics.calls, org, args.rate, args.seconds)
    finally:
        ledger.stop()
        if not args.keep:
            await topics.delete()
            await drop_schema(schema)
    p50, p99 = percentile(waits, 0.5) * 1000, percentile(waits, 0.99) * 1000
    print(f"\n{'figure':<44}{'value':>14}")
    print(f"{'events in the backlog':<44}{args.events:>14,}")
    print(f"{'sustained events/s (5%..95% of backlog)':<44}{rate:>14,.0f}")
    print(f"{'time to drain incl. startup (s)':<44}{total:>14.1f}")
    print(f"{'cost events still in the outbox then':<44}{pending:>14,}")
    print(f"{'ledger process CPU us per event':<44}{cpu[0]:>14.0f}")
    print(f"{'its PostgreSQL backends CPU us per event':<44}{cpu[1]:>14.0f}")
    print(f"{f'event-to-row p50 at {args.rate}/s (ms)':<44}{p50:>14.0f}")
    print(f"{f'event-to-row p99 at {args.rate}/s (ms)':<44}{p99:>14.0f}")
    print(f"{'latency samples':<44}{len(waits):>14,}")
    print(f"{'events never recorded (30 s grace)':<44}{missing:>14,}")
    name, at = "ledger_ingest", f"at_{args.rate}_per_s"
    print(bench_line(name, "events_per_s", rate, "events/s", TARGET_RATE, rate >= TARGET_RATE, 0))
    print(bench_line(name, f"p99_event_to_row_{at}", p99, "ms", digits=0))
    print(bench_line(name, f"not_recorded_{at}", missing, "events", 0, missing == 0))
    print(bench_line(name, "outbox_pending_after_backlog", pending, "events"))


if __name__ == "__main__":
    asyncio.run(main())
