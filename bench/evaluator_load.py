"""Load: 100 concurrent API users submitting evaluations (2 rows, faithfulness) to the
evaluator with the simulated provider, the real cost ledger and budget behind it; Locust
runs headless and prints its stats table. One evaluator instance serves the API, another
runs the evaluations (both through the same database, as production would scale out).
Targets: >= 10 evaluations started per second sustained, submission p95 < 200 ms.

    uv run python bench/evaluator_load.py [--users 100] [--seconds 60] [--rate 0.12]
    uv run --with py-spy python bench/evaluator_load.py --py-spy /tmp/load  # CPU profiles
    uv run python bench/evaluator_load.py --lockstep  # all users submit at the same moment

The users keep the steady rate, each at its own moment within the period. --lockstep makes
them all submit at once, once per period (a burst of 100 simultaneous submissions every
1/rate seconds): a stress case reported on its own, not the target's load.

Also reports the CPU time of each evaluator process per submission (stable when the machine
is shared, unlike latencies), and cost tracking accuracy against the provider: once the load
stops and the run's evaluations drain (--drain seconds), every one of them must have
completed, and every judge call the simulated provider served for them must be in the ledger
exactly once, at exactly the cost genai-prices gives for the usage the provider counted
(computed here, without REX's pricing code; see _served_check.py).
"""

import argparse
import asyncio
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
from _served_check import RunCheck, check_run, drain, run_states, tally
from _stats import bench_line
from evaluator_stack import PG_ADMIN, evaluator_stack

HERE = Path(__file__).resolve().parent


def _row(stats_csv: Path, name: str) -> dict[str, str]:
    with stats_csv.open() as f:
        for row in csv.DictReader(f):
            if row["Name"] == name:
                return row
    raise SystemExit(f"no {name!r} row in {stats_csv}")


def _mean_ms(metrics: str, name: str, labels: dict[str, str]) -> float:
    """Mean of a Prometheus histogram's series (sum/count) in ms, 0 when absent."""
    total = count = 0.0
    for line in metrics.splitlines():
        if not line.startswith((f"{name}_sum{{", f"{name}_count{{")):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            if head.startswith(f"{name}_sum"):
                total += float(value)
            else:
                count += float(value)
    return total / count * 1000 if count else 0.0


def _p95_ms(metrics: str, name: str, labels: dict[str, str]) -> float:
    """The bucket bound under which 95% of a Prometheus histogram's series fall, in ms."""
    buckets: dict[float, float] = {}
    for line in metrics.splitlines():
        if not line.startswith(f"{name}_bucket{{"):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            bound = head.split('le="', 1)[1].split('"', 1)[0]
            le = float("inf") if bound == "+Inf" else float(bound)
            buckets[le] = buckets.get(le, 0.0) + float(value)
    total = buckets.get(float("inf"), 0.0)
    for le in sorted(buckets):
        if total and buckets[le] >= 0.95 * total:
            return le * 1000
    return 0.0


def _server_side(url: str) -> str:
    """Where a submission's time goes, as the API instance measured it (means)."""
    metrics = httpx.get(f"{url}/metrics", timeout=30).text
    http = "rex_http_request_duration_seconds"
    submit = _mean_ms(metrics, http, {"route": "/api/v1/evaluations", "method": "POST"})
    peer = "rex_evaluator_peer_call_seconds"
    budget = _mean_ms(metrics, peer, {"service": "budget", "method": "POST"})
    ledger = _mean_ms(metrics, peer, {"service": "ledger", "method": "POST"})
    phase = "rex_evaluator_submit_phase_seconds"
    predict, reserve, store = (
        _mean_ms(metrics, phase, {"phase": p}) for p in ("predict", "reserve", "store")
    )
    p95 = {p: _p95_ms(metrics, phase, {"phase": p}) for p in ("predict", "reserve", "store")}
    submit95 = _p95_ms(metrics, http, {"route": "/api/v1/evaluations", "method": "POST"})
    return (
        f"| server side (means) | submit {submit:.0f} ms | predict {predict:.0f} ms"
        f" (ledger estimate, uncached only, {ledger:.0f} ms) | reserve {reserve:.0f} ms"
        f" (budget call {budget:.0f} ms) | store {store:.0f} ms |\n"
        f"| server side (p95 <= bucket) | submit {submit95:.0f} ms | predict"
        f" {p95['predict']:.0f} ms | reserve {p95['reserve']:.0f} ms | store"
        f" {p95['store']:.0f} ms |"
    )


def _cpu_s(pid: int | None) -> float:
    if pid is None:
        return 0.0
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _profile(pid: int | None, out: str, seconds: int) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy")
    if spy is None or pid is None:
        print("py-spy not found (run with `uv run --with py-spy ...`): not profiling")
        return None
    # --gil: samples only while Python runs (a CPU profile, not waits); raw: folded stacks.
    command = [spy, "record", "-o", out, "--pid", str(pid), "-d", str(seconds), "-r", "50",
               "--gil", "-f", "raw"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=float, default=0.12, help="submissions/s per user")
    parser.add_argument("--rows", type=int, default=2)
    parser.add_argument(
        "--drain", type=float, default=180, help="seconds the run's evaluations may take to end"
    )
    parser.add_argument(
        "--lockstep", action="store_true", help="every user submits at the same moment"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="evaluator instances running the evaluations (0: the API instance runs them too)",
    )
    parser.add_argument(
        "--evaluator-src",
        default=None,
        help="run the evaluator from this source dir (A/B against e.g. `git archive` of HEAD)",
    )
    parser.add_argument(
        "--py-spy", default=None, help="profile the evaluators to PREFIX-<process>.txt"
    )
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="rex-locust-")) / "evaluator"
    # The background runs must keep up; the provider gate bounds calls in flight.
    env = {"REX_EVALUATOR_RUN_CONCURRENCY": "2", "REX_EVALUATOR_DB_POOL_MAX": "20"}
    if args.evaluator_src:
        env["PYTHONPATH"] = args.evaluator_src
    with evaluator_stack(env, workers=args.workers) as stack:
        locust_env = {
            **os.environ,
            "REX_BENCH_JWT_SECRET": stack.jwt_secret(),
            "REX_BENCH_RATE": str(args.rate),
            "REX_BENCH_ROWS": str(args.rows),
            "REX_BENCH_LOCKSTEP": "1" if args.lockstep else "0",
        }
        command = [
            sys.executable, "-m", "locust", "-f", str(HERE / "locustfile_evaluator.py"),
            "--headless", "-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds}s",
            "--host", stack.url("evaluator"), "--csv", str(out), "--only-summary",
            "--stop-timeout", "10", "--loglevel", "WARNING",
        ]  # fmt: skip
        workers = [f"evaluator-worker-{n}" for n in range(args.workers)]
        names = ["evaluator", *workers, "llm-sim", "cost-ledger", "budget"]
        pids = {name: stack.pid_of(name) for name in names}
        cpu_before = {name: _cpu_s(pid) for name, pid in pids.items()}
        spies = [
            _profile(pids[name], f"{args.py_spy}-{name}.txt", args.seconds)
            for name in (["evaluator", *workers] if args.py_spy else [])
        ]
        began = datetime.now(UTC)
        subprocess.run(command, env=locust_env, check=False)
        cpu = {name: _cpu_s(pid) - cpu_before[name] for name, pid in pids.items()}
        states = tally(asyncio.run(run_states(PG_ADMIN, began)))
        breakdown = _server_side(stack.url("evaluator"))
        ended = asyncio.run(drain(PG_ADMIN, began, args.drain))
        sim_url = f"http://127.0.0.1:{stack.ports.sim}"
        ledger_schema = stack.extra_env["REX_LEDGER_DB_SCHEMA"]
        check = asyncio.run(check_run(PG_ADMIN, ledger_schema, sim_url, ended, 120))
        for spy in spies:
            if spy is not None:
                spy.wait(timeout=120)
    submit = _row(Path(f"{out}_stats.csv"), "submit")
    requests, failures = int(submit["Request Count"]), int(submit["Failure Count"])
    started = (requests - failures) / args.seconds
    p95 = float(submit["95%"])
    print(f"| submissions | {requests} | failures {failures} | started {started:.1f}/s |"
          f" p50 {submit['50%']} ms | p95 {p95:.0f} ms | p99 {submit['99%']} ms |")  # fmt: skip
    print(breakdown)
    print("| evaluations when the load stopped | "
          + " | ".join(f"{k} {v}" for k, v in sorted(states.items())) + " |")  # fmt: skip
    done = max(1, requests)
    print(
        "| CPU per submission | "
        + " | ".join(f"{name} {seconds * 1000 / done:.1f} ms" for name, seconds in cpu.items())
        + " |"
    )
    _report_check(check, tally(ended))
    # Locust's own percentiles (its response-time buckets): the figures a user of Locust sees.
    name, clean = "evaluator_load", failures == 0
    print(bench_line(name, "evaluations_started", started, "per_s", ">=10", clean and started >= 10,
                     digits=1))  # fmt: skip
    print(bench_line(name, "submit_failures", failures, "requests", 0, clean))
    if args.lockstep:
        print(bench_line(name, "submit_p95_lockstep", p95, "ms", digits=0))
        return
    print(bench_line(name, "submit_p50", float(submit["50%"]), "ms", digits=0))
    print(bench_line(name, "submit_p95", p95, "ms", "<200", clean and p95 < 200, digits=0))
    print(bench_line(name, "submit_p99", float(submit["99%"]), "ms", digits=0))


def _report_check(check: RunCheck, ended: dict[str, int]) -> None:
    """The run's evaluations once drained, and the ledger against the provider's count."""
    print("| evaluations after the drain | "
          + " | ".join(f"{k} {v}" for k, v in sorted(ended.items())) + " |")  # fmt: skip
    o = check.overall
    print(f"| cost tracking vs the provider | {o.served} judge calls served (and"
          f" {check.faulted} faults) | lost {len(o.lost)} | duplicated {o.duplicated} |"
          f" inexact {len(o.inexact)} | unserved {o.unserved} | dropped {o.dropped} |")  # fmt: skip
    right = o.served - len(o.lost) - len(o.inexact)
    accuracy = 100.0 * right / o.served if o.served else 0.0
    print(bench_line("evaluator_load", "cost_tracking_accuracy", accuracy, "%", 100,
                     ok=bool(o.served) and o.exact, digits=1))  # fmt: skip
    share = 100.0 * check.matched / check.evaluations if check.evaluations else 0.0
    print(bench_line("evaluator_load", "evaluations_completed_and_matched", share, "%", 100,
                     ok=check.ok, digits=1))  # fmt: skip


if __name__ == "__main__":
    main()
