"""Overhead of cost tracking per LLM call: what tracking adds to an evaluator judge call, the
same workload measured with and without it.

The workload (what the evaluator does with every judge call): a real SDK call to the simulated
provider (its own process), then the call's result stored as the run loop stores it
(row-level security bypassed, the stored row, the cancel flag read back, commit).

- untracked: the result row is built straight from the SDK reply and stored alone.
- tracked: the usage is mapped into the canonical shape, the `llm.call.completed` event and its
  CloudEvent are built, and the event's outbox row is inserted in the SAME statement as the
  result row (`PgRunStore`'s `insert_call`: one round trip, committed together or not at all).
- previous (for comparison): how calls were stored before, the event in a second statement
  with a NOTIFY inside the transaction.

Per call, the window runs from the SDK reply to the result committed (what the run waits
for before going on; both variants store with one statement that is its own transaction, as
`PgRunStore.record` stores most calls). The two variants alternate call by call so both see
the same machine. The headline is p99(WITH) - p99(WITHOUT) with its 95% bootstrap interval
(a difference of two tail percentiles is noisy); the verdict uses the interval's upper bound.
The p50 difference and the tracking code's own CPU time are printed with it.
`--concurrency N` runs N loops at once, as the run loop stores many calls at once.
Standalone sinks for code without a result row (`@track_llm_cost` with OutboxSink: a commit
of its own per call) are measured for information.

    uv run python bench/evaluator_tracking_overhead.py [--calls 3000] [--concurrency 1]
"""

import argparse
import asyncio
import json
import random
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import openai
from _stats import bench_line, percentile
from evaluator.adapters.pg import as_connection, transaction
from evaluator.adapters.run_store import INSERT_CALL, TRUSTED_CANCEL_FLAG, call_args, insert_call
from evaluator.config import SCHEMA
from evaluator.ports import ChatRequest, JudgeCall, LlmReply
from evaluator_stack import PG_ADMIN, ROOT, _dsn
from rex_shared.db import create_pool, migrate, provision
from rex_shared.outbox import enqueue
from rex_testkit.ports import free_port
from rex_tracking import (
    BufferedOutboxSink,
    CallContext,
    OutboxSink,
    Payer,
    Response,
    Stopwatch,
    outgoing,
    succeeded,
    track_call,
    usage,
)

PAYER = Payer(org_id="bench-tracking", project_id="bench", user_id="bench")
MODEL = "gpt-4o-mini"
TARGET_MS = 1.0
# The untracked store: the run store's statement minus the event (result row + cancel flag).
INSERT_CALL_ALONE = (
    "WITH trusted AS (SELECT set_config('app.rls_bypass', 'on', true) AS bypass),"
    f" stored AS ({INSERT_CALL} RETURNING 1)" + TRUSTED_CANCEL_FLAG
)


def _pct(values: list[float], q: float) -> float:
    return percentile(values, q)


def _p99_gap_interval(
    with_: list[float], without: list[float], rounds: int = 1000
) -> tuple[float, float]:
    """95% bootstrap interval of p99(WITH) - p99(WITHOUT): a difference of two tail
    percentiles is noisy (it can come out negative), so the verdict uses its upper bound."""
    pick = random.Random(7)
    gaps = sorted(
        _pct(pick.choices(with_, k=len(with_)), 0.99)
        - _pct(pick.choices(without, k=len(without)), 0.99)
        for _ in range(rounds)
    )
    return percentile(gaps, 0.025), percentile(gaps, 0.975)


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


async def _ask(client: openai.AsyncOpenAI) -> Any:
    return await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Summarize: tracking."}]
    )


def _untracked_row(evaluation_id: UUID, reply: Any) -> tuple[Any, ...]:
    """The result row without tracking: the reply's text and token counts as they came."""
    raw = reply.usage.model_dump(mode="json")
    return (uuid4(), evaluation_id, 0, "bench", "step", 0, "succeeded", "openai", reply.model,
            reply.usage.prompt_tokens, reply.usage.completion_tokens,
            reply.choices[0].message.content, datetime.now(UTC), MODEL, 0, json.dumps(raw),
            0)  # fmt: skip


def _tracked_call(evaluation_id: UUID, reply: Any, clock: Stopwatch) -> JudgeCall:
    """What OpenAiChat does with a reply (canonical usage, the call's event), as a JudgeCall."""
    raw = reply.usage.model_dump(mode="json")
    response = Response(reply.model, usage.openai_chat(raw), raw, reply.service_tier,
                        reply._request_id)  # fmt: skip
    ctx = CallContext(uuid4(), PAYER.org_id, PAYER.project_id, PAYER.user_id, evaluation_id,
                      "bench", 0)  # fmt: skip
    request = ChatRequest(MODEL, "", "")
    event = succeeded(ctx, provider="openai", api="chat.completions", request=request,
                      clock=clock, response=response)  # fmt: skip
    text = reply.choices[0].message.content
    return JudgeCall(evaluation_id, 0, "bench", "step", 0, LlmReply(text, event))


async def _evaluation(pool: asyncpg.Pool) -> UUID:
    evaluation_id = uuid4()
    async with transaction(pool, PAYER.org_id) as conn:
        await conn.execute(
            "INSERT INTO evaluations (id, org_id, project_id, user_id, status, metrics,"
            " judge_provider, judge_model, rows_total) VALUES ($1, $2, $3, $4, 'running',"
            " ARRAY['bench'], 'openai', $5, 1)",
            evaluation_id, PAYER.org_id, PAYER.project_id, PAYER.user_id, MODEL,
        )  # fmt: skip
    return evaluation_id


async def judge_calls(
    pool: asyncpg.Pool, client: openai.AsyncOpenAI, calls: int, concurrency: int
) -> dict[str, list[float]]:
    """Alternating untracked, tracked and (for comparison) previously-tracked judge calls,
    `concurrency` loops at once: ms from the reply to the result committed, and the tracking
    code's CPU."""
    evaluation_id = await _evaluation(pool)
    out: dict[str, list[float]] = {"untracked": [], "tracked": [], "cpu": [], "previous": []}

    async def untracked() -> None:
        reply = await _ask(client)
        t0 = time.perf_counter()
        async with pool.acquire() as conn:
            await conn.fetchval(INSERT_CALL_ALONE, *_untracked_row(evaluation_id, reply))
        out["untracked"].append((time.perf_counter() - t0) * 1000)

    async def tracked() -> None:
        clock = Stopwatch()
        reply = await _ask(client)
        t0 = time.perf_counter()
        call = _tracked_call(evaluation_id, reply, clock)
        out["cpu"].append((time.perf_counter() - t0) * 1000)
        async with pool.acquire() as conn:
            await insert_call(conn, call)  # builds the CloudEvent too
        out["tracked"].append((time.perf_counter() - t0) * 1000)

    async def previous() -> None:
        """How calls were stored before: a transaction with the call's row, then its event
        with a NOTIFY (a second round trip; commits of notifying transactions serialize),
        then the cancel flag."""
        clock = Stopwatch()
        reply = await _ask(client)
        t0 = time.perf_counter()
        call = _tracked_call(evaluation_id, reply, clock)
        async with transaction(pool, None) as conn:
            await conn.execute(INSERT_CALL, *call_args(call))
            await enqueue(as_connection(conn), [outgoing(call.reply.event)], schema=SCHEMA)
            await conn.fetchval(
                "SELECT cancel_requested_at IS NOT NULL FROM evaluations WHERE id = $1",
                evaluation_id,
            )
        out["previous"].append((time.perf_counter() - t0) * 1000)

    async def loop(n: int) -> None:
        for _ in range(n):
            await untracked()
            await tracked()
            await previous()

    await loop(min(50, calls))  # warm up connections, statement caches, the simulator
    out = {k: [] for k in out}
    per_loop = max(1, calls // concurrency)
    await asyncio.gather(*(loop(per_loop) for _ in range(concurrency)))
    return out


async def standalone_sinks(
    pool: asyncpg.Pool, client: openai.AsyncOpenAI, calls: int
) -> dict[str, list[float]]:
    """`track_call` around a call in code with no result row: the sink's own cost per call."""
    out: dict[str, list[float]] = {}
    for name, sink in (("OutboxSink", OutboxSink(pool)), ("BufferedOutboxSink",
                                                          BufferedOutboxSink(pool))):  # fmt: skip
        spent = []
        for i in range(calls + min(50, calls)):
            async with track_call(model=MODEL, sink=sink, payer=PAYER) as call:  # type: ignore[arg-type]
                call.record(await _ask(client))
                t_reply = time.perf_counter()
            if i >= min(50, calls):
                spent.append((time.perf_counter() - t_reply) * 1000)
        if isinstance(sink, BufferedOutboxSink):
            await sink.close()
        out[name] = spent
    return out


async def main_async(calls: int, concurrency: int) -> dict[str, list[float]]:
    # A scratch schema: no relay of a running evaluator publishes the bench's events.
    schema = f"evaluator_bench{secrets.token_hex(3)}"
    await provision(PG_ADMIN, schema=schema, role="rex_evaluator", password="evaluator")
    dsn = _dsn("rex_evaluator", "evaluator")
    try:
        await migrate(dsn, schema=schema, directory=ROOT / "migrations" / "evaluator")
        pool = await create_pool(dsn, schema=schema, min_size=2, max_size=concurrency + 4)
        with simulator() as sim:
            client = openai.AsyncOpenAI(base_url=f"{sim}/v1", api_key="bench", max_retries=0)
            plain = []
            for _ in range(calls):
                t0 = time.perf_counter()
                await _ask(client)
                plain.append((time.perf_counter() - t0) * 1000)
            results = {"sdk call to the simulator (scale)": plain}
            results.update(await judge_calls(pool, client, calls, concurrency))
            results.update(await standalone_sinks(pool, client, calls))
            await client.close()
        await pool.close()
    finally:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()
    return results


LABELS = {
    "sdk call to the simulator (scale)": "SDK call to the simulator, end to end (for scale)",
    "untracked": "WITHOUT tracking: reply -> result row committed",
    "tracked": "WITH tracking: reply -> result row + event committed",
    "cpu": "tracking CPU: usage mapping + event build (inside WITH)",
    "previous": "WITH tracking, previous store: 2nd statement + NOTIFY in the transaction",
    "OutboxSink": "standalone OutboxSink: own commit per call (info)",
    "BufferedOutboxSink": "standalone BufferedOutboxSink: queued, 50 ms batches (info)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000, help="calls per variant")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="judge-call loops at once (runs in parallel)"
    )
    args = parser.parse_args()
    results = asyncio.run(main_async(args.calls, args.concurrency))
    print(f"| per call ({args.calls} calls each, {args.concurrency} at once) | p50 ms | p99 ms |"
          " max ms | mean ms |")  # fmt: skip
    print("|---|---|---|---|---|")
    for key, values in results.items():
        print(f"| {LABELS[key]} | {_pct(values, 0.5):.3f} | {_pct(values, 0.99):.3f} |"
              f" {max(values):.3f} | {statistics.fmean(values):.3f} |")  # fmt: skip
    with_, without = results["tracked"], results["untracked"]
    p50 = _pct(with_, 0.5) - _pct(without, 0.5)
    p99 = _pct(with_, 0.99) - _pct(without, 0.99)
    mean = statistics.fmean(with_) - statistics.fmean(without)
    print(f"| **overhead of tracking** (WITH - WITHOUT) | {p50:.3f} | {p99:.3f} | |"
          f" {mean:.3f} |")  # fmt: skip
    low, high = _p99_gap_interval(with_, without)
    print(f"| p99 overhead, 95% bootstrap interval | | {low:.3f} .. {high:.3f} | | |")
    name = "evaluator_tracking_overhead"
    print(bench_line(name, "p50_overhead", p50, "ms", digits=3))
    print(bench_line(name, "p99_overhead", p99, "ms", digits=3))
    print(bench_line(name, "p99_overhead_upper95", high, "ms", "<1", high < TARGET_MS, 3))
    for key, label in (("cpu", "p99_tracking_cpu"), ("OutboxSink", "p99_outbox_sink")):
        print(bench_line(name, label, _pct(results[key], 0.99), "ms", digits=3))


if __name__ == "__main__":
    main()
