"""Overhead of cost tracking per LLM call: what tracking adds to a call (usage mapping, event
build, outbox enqueue), measured per call around real SDK calls to the simulated provider.

- durable: `track_call` + OutboxSink (the event committed to the outbox before returning,
  one round trip) — what `@track_llm_cost` costs with the default sink. The headline figure.
- in-transaction: mapping + event build + `enqueue_one` inside a transaction the caller
  already has open (the evaluator's own judge calls: the event rides in the transaction that
  stores the call's result).
- buffered: BufferedOutboxSink (batched commits every 50 ms; a crash may lose that window).
Also the end-to-end latency of the same call without tracking, for scale.

    uv run python bench/evaluator_tracking_overhead.py [--calls 500]
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import httpx
import openai
from evaluator.adapters.llm import Stopwatch
from evaluator.config import SCHEMA
from evaluator.tracking import (
    BufferedOutboxSink,
    OutboxSink,
    Payer,
    TrackedCall,
    build_event,
    outgoing,
    track_call,
)
from evaluator_stack import PG_ADMIN, ROOT, _dsn, free_port
from rex_shared.db import create_pool, migrate, provision
from rex_shared.outbox import enqueue_one

PAYER = Payer(org_id="bench-tracking", project_id="bench", user_id="bench")
TARGET_MS = 1.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def simulator() -> Iterator[str]:
    """The simulated provider in its own process (in-process it would share our GIL and
    blur the timings)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llm_sim", "--port", str(port),
                             "--log-level", "warning"])  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _call(client: openai.AsyncOpenAI) -> object:
    return await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Summarize: tracking."}]
    )


async def measure(calls: int, one: Callable[[], Awaitable[float]]) -> list[float]:
    for _ in range(min(50, calls)):
        await one()  # warm up connections and caches
    return [await one() for _ in range(calls)]


async def main_async(calls: int) -> dict[str, list[float]]:
    await provision(PG_ADMIN, schema=SCHEMA, role="rex_evaluator", password="evaluator")
    dsn = _dsn("rex_evaluator", "evaluator")
    await migrate(dsn, schema=SCHEMA, directory=ROOT / "migrations" / "evaluator")
    pool = await create_pool(dsn, schema=SCHEMA, min_size=2, max_size=4)
    durable, buffered = OutboxSink(pool), BufferedOutboxSink(pool)
    results: dict[str, list[float]] = {}
    with simulator() as sim:
        client = openai.AsyncOpenAI(base_url=f"{sim}/v1", api_key="bench", max_retries=0)

        async def plain() -> float:
            t0 = time.perf_counter()
            await _call(client)
            return (time.perf_counter() - t0) * 1000

        def tracked(sink: object) -> Callable[[], Awaitable[float]]:
            async def one() -> float:
                async with track_call(model="gpt-4o-mini", sink=sink, payer=PAYER) as call:  # type: ignore[arg-type]
                    call.record(await _call(client))
                    t_reply = time.perf_counter()
                return (time.perf_counter() - t_reply) * 1000

            return one

        async def cpu_only() -> float:
            clock, call = Stopwatch(), TrackedCall()
            call.record(await _call(client))
            t0 = time.perf_counter()
            event = build_event(call, clock=clock, payer=PAYER, model="gpt-4o-mini",
                                provider=None, metric="bench")  # fmt: skip
            outgoing(event)
            return (time.perf_counter() - t0) * 1000

        async def in_transaction() -> float:
            clock, call = Stopwatch(), TrackedCall()
            call.record(await _call(client))
            async with pool.acquire() as conn, conn.transaction():
                t0 = time.perf_counter()
                event = build_event(call, clock=clock, payer=PAYER, model="gpt-4o-mini",
                                    provider=None, metric="bench")  # fmt: skip
                await enqueue_one(conn, outgoing(event), schema=SCHEMA)  # type: ignore[arg-type]
                spent = time.perf_counter() - t0
            return spent * 1000

        results["untracked call (end to end)"] = await measure(calls, plain)
        results["usage mapping + event build (CPU only)"] = await measure(calls, cpu_only)
        results["durable: OutboxSink"] = await measure(calls, tracked(durable))
        results["in-transaction (evaluator runs)"] = await measure(calls, in_transaction)
        results["buffered: BufferedOutboxSink"] = await measure(calls, tracked(buffered))
        await buffered.close()
        await client.close()
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM outbox WHERE convert_from(payload, 'UTF8') LIKE $1",
                           "%bench-tracking%")  # fmt: skip
    await pool.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    results = asyncio.run(main_async(args.calls))
    print(f"| what (per call, {args.calls} calls) | p50 ms | p99 ms | max ms | mean ms |")
    print("|---|---|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {_pct(values, 0.5):.3f} | {_pct(values, 0.99):.3f} |"
              f" {max(values):.3f} | {statistics.fmean(values):.3f} |")  # fmt: skip
    headline = _pct(results["durable: OutboxSink"], 0.99)
    verdict = "pass" if headline < TARGET_MS else "short"
    print(f"BENCH evaluator_tracking_overhead p99_durable={headline:.3f} ms target=<1 {verdict}")
    for key, label in (("usage mapping + event build (CPU only)", "p99_cpu_only"),
                       ("buffered: BufferedOutboxSink", "p99_buffered")):  # fmt: skip
        print(f"BENCH evaluator_tracking_overhead {label}={_pct(results[key], 0.99):.3f} ms"
              " target=- info")  # fmt: skip
    inside = _pct(results["in-transaction (evaluator runs)"], 0.99)
    verdict = "pass" if inside < TARGET_MS else "short"
    print(
        f"BENCH evaluator_tracking_overhead p99_in_transaction={inside:.3f} ms target=<1 {verdict}"
    )


if __name__ == "__main__":
    main()
