"""First load of the cost dashboard with a year of data: under 1 s to the first chart.

A year of ledger rows (10 million by default, ending today) is generated in PostgreSQL with
the cost-ledger benchmark's own row generator (bench/ledger_summary.py), into a dedicated
schema that later runs reuse. The whole stack runs as processes behind nginx (the one origin
of `make up`), the ledger reading that schema; Debian's chromium opens the dashboard with a
fresh profile (cold HTTP cache) several times: as it lands (`/`, this month: the figure
with the target) and switched to the whole year (`/?period=year`, 365 days of stacked bars).
The figure: from navigation start to the daily chart drawn (ECharts "finished") and painted, p95.

    uv run python bench/dashboard_first_load.py [--rows 10000000] [--runs 10] [--reload] [--drop]

The first run loads the rows (about 5 minutes for 10M here); later runs take about 2 minutes.
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "web")]
import ledger_summary  # noqa: E402  (the ledger owner's generator, reused)
from _ledger_common import ADMIN_DSN, KAFKA, dsn_of  # noqa: E402
from _stats import bench_line, percentile  # noqa: E402
from webstack import node, web_stack  # noqa: E402

SCHEMA = "ledger_bench_dashboard"
ORG = "bench-dashboard-org"
TARGET_MS = 1000.0
NAME = "dashboard_first_load"
VIEWS = {"/": "p95_first_chart", "/?period=year": "p95_first_chart_year_view"}
DAYS = 365
# The generator spreads rows from a fixed date; here the year ends today.
_BASE = "timestamptz '2025-08-01'"


def _load_sql() -> str:
    sql = ledger_summary._LOAD
    if _BASE not in sql:
        raise SystemExit(f"bench/ledger_summary.py no longer starts its rows at {_BASE}")
    return sql.replace(_BASE, "$6::timestamptz")


async def ensure_loaded(rows: int, reload: bool) -> str:
    """`rows` ledger rows of ORG over the last year, and their daily rollups (kept for reuse)."""
    from cost_ledger.bootstrap import migrate_and_seed
    from cost_ledger.config import Settings
    from rex_shared.db import provision

    dsn = dsn_of(SCHEMA)
    await provision(ADMIN_DSN, schema=SCHEMA, role=f"rex_{SCHEMA}", password=SCHEMA)
    directory = Settings(database_url=dsn).migrations_path()
    try:
        await migrate_and_seed(dsn, schema=SCHEMA, directory=directory)
    except RuntimeError as exc:  # a migration edited since the last load: start over
        print(f"rebuilding schema {SCHEMA}: {exc}")
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
        await admin.close()
        await provision(ADMIN_DSN, schema=SCHEMA, role=f"rex_{SCHEMA}", password=SCHEMA)
        await migrate_and_seed(dsn, schema=SCHEMA, directory=directory)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    try:
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', false)")
        have = await conn.fetchval("SELECT count(*) FROM ledger_entries WHERE org_id = $1", ORG)
        newest = await conn.fetchval("SELECT max(day) FROM daily_costs WHERE org_id = $1", ORG)
        fresh = newest is not None and (datetime.now(UTC).date() - newest).days <= 7
        if have == rows and fresh and not reload:
            print(f"reusing {have:,} ledger rows in schema {SCHEMA} (newest day {newest})")
            return dsn
        start = time.monotonic()
        await conn.execute("DELETE FROM daily_costs WHERE org_id = $1", ORG)
        await conn.execute("DELETE FROM ledger_entries WHERE org_id = $1", ORG)
        first = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        first -= timedelta(days=DAYS - 1)
        seconds_per_row = DAYS * 86400 / rows
        sql, chunk = _load_sql(), 1_000_000
        for lo in range(0, rows, chunk):
            hi = min(lo + chunk, rows) - 1
            await conn.execute(sql, ORG, "dash", lo, hi, seconds_per_row, first)
            print(f"  loaded {hi + 1:,} rows ({time.monotonic() - start:.0f} s)", flush=True)
        await conn.execute(ledger_summary._ROLLUP, ORG)
        await conn.execute("ANALYZE ledger_entries")
        await conn.execute("ANALYZE daily_costs")
        print(f"loaded {rows:,} rows and their rollups in {time.monotonic() - start:.0f} s")
    finally:
        await conn.close()
    return dsn


async def _drop() -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        await conn.close()


def _row(name: str, ms: list[float]) -> str:
    p50, p95 = statistics.median(ms), percentile(ms, 0.95)
    return f"{name:<44}{p50:>9.0f}{p95:>9.0f}{max(ms):>9.0f}"


def _api_key(path: str) -> str:
    """/api/v1/costs/daily?...&group_by=provider -> /api/v1/costs/daily (provider)."""
    route, _, query = path.partition("?")
    group = dict(kv.split("=", 1) for kv in query.split("&") if "=" in kv).get("group_by")
    return f"{route} ({group})" if group else route


def report(path: str, metric: str, runs: list[dict[str, Any]], rows: int, expected: int) -> None:
    print(f"\n{'cold first load of ' + path + ' (ms)':<44}{'p50':>9}{'p95':>9}{'max':>9}")
    print(_row("DOMContentLoaded", [r["domContentLoadedMs"] for r in runs]))
    by_api: dict[str, list[float]] = {}
    for r in runs:
        for call in r["api"]:
            by_api.setdefault(_api_key(call["path"]), []).append(call["ms"])
    for key, ms in sorted(by_api.items()):
        print(_row(f"  {key}", ms))
    print(_row("renderer main-thread busy (all tasks)", [r["mainThreadMs"] for r in runs]))
    print(_row("  of which JavaScript", [r["scriptMs"] for r in runs]))
    first = [r["firstChartMs"] for r in runs]
    print(_row("first chart painted", first))
    last = runs[-1]
    timeline = ", ".join(f"{path.rsplit('/', 1)[-1]} {a}-{b}" for path, a, b in last["apiEnds"])
    print(f"last load, ms after navigation start: requests {timeline}; chart mounted "
          f"{last['chartMarkMs']:.0f}, drawn {last['barsInDomMs']:.0f}, "
          f"painted {last['firstChartMs']:.0f}")  # fmt: skip
    days, total = last["bars"], last["total"]
    print(f"{len(runs)} cold loads; {rows:,} ledger rows; {days} days with spend; {total}")
    p95 = percentile(first, 0.95)
    # Every load must have drawn its chart: a run that failed is missing from `first`.
    complete = len(first) == expected
    print(bench_line(NAME, metric, p95, "ms", TARGET_MS, complete and p95 < TARGET_MS, 0))
    print(bench_line(NAME, f"{metric}_loads", f"{len(first)}/{expected}", "loads", "all", complete))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--reload", action="store_true", help="generate the rows again")
    parser.add_argument("--drop", action="store_true", help="drop the loaded schema afterwards")
    args = parser.parse_args()
    dsn = asyncio.run(ensure_loaded(args.rows, args.reload))
    # The stack's ledger reads the loaded schema (rate limits stay on, as in production).
    ledger = {"REX_LEDGER_DATABASE_URL": dsn, "REX_LEDGER_DB_SCHEMA": SCHEMA}
    home = Path(tempfile.mkdtemp(prefix="rex-dashboard-bench-"))
    with web_stack(KAFKA, ADMIN_DSN, home, extra_env=ledger) as web:
        env = {
            "REX_WEB_URL": web.url,
            "REX_TOKEN": web.token(ORG, role="viewer"),
            "REX_CHROMIUM": web.chromium,
            "REX_SCREENSHOTS": str(HERE / "results" / "screenshots"),
            "REX_ARGS": json.dumps({"runs": args.runs, "paths": list(VIEWS)}),
        }
        done = node("first-load.mjs", env=env, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"browser failed:\n{done.stderr}\n{done.stdout}")
    if args.drop:
        asyncio.run(_drop())
    result = json.loads(done.stdout.splitlines()[-1].removeprefix("RESULT "))
    for path, metric in VIEWS.items():
        report(path, metric, result[path], args.rows, args.runs)


if __name__ == "__main__":
    main()
