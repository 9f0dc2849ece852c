"""Prediction error: the evaluator's cost estimate against the cost-ledger's actual cost.

Each bundled sample dataset (sample_rag, 8 rows; long_contexts_rag, 6 rows) is evaluated on
all five metrics with four judge models; the actual cost per metric is the ledger's
(`GET /api/v1/costs/evaluations/{id}`). Target: actual within 15 % of predicted.

What it is measured against, so the figure can be judged:

- The simulated provider (`tools/llm-sim`), which does NOT share the predictor's
  assumptions: it decomposes answers into claims by its own rule (clause splits, merged
  continuations, restated claims), writes reasons of four lengths, lays out JSON per model
  (one line, or indented by 2 or 4 spaces), and counts Claude tokens at roughly 1.15-1.30x
  o200k with per-text variation where the predictor assumes 1.10x (rules in its README,
  "Where it differs from the evaluator's predictor"). It is still a simulator: real judges
  vary more (and non-deterministically), so this is a lower bound on real-world error.
- A fresh database: the evaluator runs on a scratch PostgreSQL database created, migrated
  and dropped by this run, so no earlier run has taught the predictor anything. (The ledger
  gets its own scratch schema from `evaluator_stack`; the budget service's schema holds no
  prediction history.)

Two figures:

- cold: every estimate is asked (`POST /api/v1/evaluations/estimate`) before any judge call
  exists, so the predictor has only its defaults (the 1.10 Anthropic factor, replies sized
  as compact JSON with a fixed reason, one claim per sentence);
- learned: after all the runs, once the evaluator's history cache (60 s) has expired, the
  same estimates are asked again; the predictor now scales by the actual/expected ratios it
  learned from those runs' calls (>= 10 calls per metric step and model). This is in-sample
  (the history holds these very rows' calls, pooled over both datasets), so it shows what
  learning corrects, not how well it generalizes to new data.

    uv run python bench/evaluator_prediction.py [--judges openai:gpt-4o-mini,...]
"""

import argparse
import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _stats import bench_line, percentile
from evaluator_stack import PG_ADMIN, evaluator_stack, token
from rex_shared.db import migrate, provision
from rex_testkit.pg import split_dsns

ROOT = Path(__file__).resolve().parents[1]
METRICS = ["faithfulness", "answer_relevancy", "context_precision", "context_recall",
           "answer_correctness"]  # fmt: skip
JUDGES = "openai:gpt-4o-mini,openai:gpt-4.1,anthropic:claude-haiku-4-5,anthropic:claude-sonnet-4-6"
TARGET = 15.0
HISTORY_TTL_S = 61  # PgOutputHistory caches a model's ratios for 60 s


def datasets() -> dict[str, Any]:
    sample = json.loads(resources.files("rexctl").joinpath("data/sample_rag.json").read_text())
    extra = ROOT / "services" / "evaluator" / "samples" / "long_contexts_rag.json"
    return {"sample_rag": sample, "long_contexts_rag": json.loads(extra.read_text())}


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database() -> Iterator[str]:
    """A scratch database with the evaluator's schema migrated; its DSN. Dropped afterwards."""
    name = f"rex_predbench_{secrets.token_hex(4)}"
    base, _, _ = PG_ADMIN.rpartition("/")
    admin, dsn = (
        f"{base}/{name}",
        f"postgresql://rex_evaluator:evaluator@{base.split('@')[1]}/{name}",
    )
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    try:
        asyncio.run(
            provision(admin, schema="evaluator", role="rex_evaluator", password="evaluator")
        )
        asyncio.run(migrate(dsn, schema="evaluator", directory=ROOT / "migrations" / "evaluator"))
        yield dsn
    finally:
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _role_env(owner_dsn: str) -> dict[str, str]:
    """The evaluator on the scratch database as its request and worker roles."""
    request, worker = split_dsns(owner_dsn, schema="evaluator")
    return {
        "REX_EVALUATOR_DATABASE_URL": request,
        "REX_EVALUATOR_WORKER_DATABASE_URL": worker,
        "REX_EVALUATOR_MIGRATE_DATABASE_URL": owner_dsn,
    }


def _wait(http: httpx.Client, url: str, done: Any, timeout_s: float = 180) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        data = http.get(url).json()["data"]
        if done(data):
            return data
        time.sleep(0.3)
    raise TimeoutError(url)


def _body(rows: list[Any], provider: str, model: str) -> dict[str, Any]:
    return {"rows": rows, "metrics": METRICS, "project_id": "bench-prediction",
            "judge": {"provider": provider, "model": model}}  # fmt: skip


def estimate(http: httpx.Client, rows: list[Any], provider: str, model: str) -> dict[str, Decimal]:
    """Predicted cost per metric, without running anything."""
    reply = http.post("/api/v1/evaluations/estimate", json=_body(rows, provider, model))
    reply.raise_for_status()
    metrics = reply.json()["data"]["metrics"]
    return {m: Decimal(v["estimated_cost"]) for m, v in metrics.items()}


def run_one(http: httpx.Client, rows: list[Any], provider: str, model: str) -> dict[str, Decimal]:
    """Actual cost per metric, as the ledger recorded it."""
    created = http.post("/api/v1/evaluations", json=_body(rows, provider, model))
    created.raise_for_status()
    url = f"/api/v1/evaluations/{created.json()['data']['id']}"
    finished = _wait(http, url, lambda d: d["status"] not in ("queued", "running"))

    def costed(d: dict[str, Any]) -> bool:
        ledger = (d.get("cost") or {}).get("ledger") or {}
        return bool(ledger.get("calls") == finished["calls"])

    ledger = _wait(http, url, costed)["cost"]["ledger"]
    actual = {m["metric"]: Decimal(m["cost"]) for m in ledger["metrics"]}
    return {m: actual.get(m, Decimal(0)) for m in METRICS}


def _error(actual: Decimal, predicted: Decimal) -> float:
    return float((actual - predicted) / predicted * 100) if predicted else 0.0


def measure(judges: list[tuple[str, str]]) -> list[dict[str, Any]]:
    cases = [(n, d["rows"], p, m) for n, d in datasets().items() for p, m in judges]
    with fresh_database() as dsn, evaluator_stack(_role_env(dsn)) as stack:
        headers = {"Authorization": f"Bearer {token(stack, 'bench-prediction', 'bench')}"}
        with httpx.Client(base_url=stack.url("evaluator"), headers=headers, timeout=60) as http:
            cold = [estimate(http, rows, p, m) for _, rows, p, m in cases]  # no history yet
            actual = [run_one(http, rows, p, m) for _, rows, p, m in cases]
            time.sleep(HISTORY_TTL_S)  # the history cache now reads the runs' calls
            learned = [estimate(http, rows, p, m) for _, rows, p, m in cases]
    return [
        {"dataset": name, "judge": f"{p}/{m}", "metric": metric, "cold": c[metric],
         "learned": lr[metric], "actual": a[metric]}
        for (name, _, p, m), c, lr, a in zip(cases, cold, learned, actual, strict=True)
        for metric in METRICS
    ]  # fmt: skip


def report(results: list[dict[str, Any]]) -> None:
    print("| dataset | judge | metric | cold predicted $ | learned predicted $ | actual $ |"
          " cold error | learned error |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        r["cold_error"], r["learned_error"] = (
            _error(r["actual"], r["cold"]),
            _error(r["actual"], r["learned"]),
        )
        print(f"| {r['dataset']} | {r['judge']} | {r['metric']} | {r['cold']:.8f} |"
              f" {r['learned']:.8f} | {r['actual']:.8f} | {r['cold_error']:+.1f}% |"
              f" {r['learned_error']:+.1f}% |")  # fmt: skip
    for label, key in (("judge", "judge"), ("dataset", "dataset")):
        for value in sorted({r[key] for r in results}):
            mine = [r for r in results if r[key] == value]
            a = sum(r["actual"] for r in mine)
            c, lr = sum(r["cold"] for r in mine), sum(r["learned"] for r in mine)
            ce, le = _error(a, c), _error(a, lr)
            print(f"| total for {label} {value}: actual {a:.8f}, cold {c:.8f} ({ce:+.1f}%),"
                  f" learned {lr:.8f} ({le:+.1f}%) |")  # fmt: skip
    print("(measured against the simulated provider, which deviates from the predictor's"
          " assumptions (claim splitting, reason lengths, JSON layout per model, Claude tokens;"
          " tools/llm-sim README), on a fresh database with no prior history; cold = estimates"
          " asked before any call, learned = asked again after the runs, in-sample)")  # fmt: skip
    for phase in ("cold", "learned"):
        errors = [abs(r[f"{phase}_error"]) for r in results]
        worst, median = max(errors), percentile(errors, 0.5)
        print(
            f"{phase}: max |error| per metric {worst:.1f} %, median {median:.1f} %,"
            f" p90 {percentile(errors, 0.9):.1f} % over {len(errors)} metric runs"
        )
        print(bench_line("evaluator_prediction", f"{phase}_max_abs_error_per_metric", worst,
                         "%", TARGET, worst <= TARGET, digits=1))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--judges", default=JUDGES)
    args = parser.parse_args()
    judges = [(p, m) for p, _, m in (j.partition(":") for j in args.judges.split(","))]
    report(measure(judges))


if __name__ == "__main__":
    main()
