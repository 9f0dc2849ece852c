"""Load: 100 concurrent API users submitting evaluations (2 rows, faithfulness) to the
evaluator with the simulated provider, the real cost ledger and budget behind it; Locust
runs headless and prints its stats table. One evaluator instance serves the API, another
runs the evaluations (both through the same database, as production would scale out).
Targets: >= 10 evaluations started per second sustained, submission p95 < 200 ms.

    uv run python bench/evaluator_load.py [--users 100] [--seconds 60] [--rate 0.12]
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from evaluator_stack import evaluator_stack

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


def _server_side(url: str) -> str:
    """Where a submission's time goes, as the API instance measured it (means)."""
    metrics = httpx.get(f"{url}/metrics", timeout=30).text
    http = "rex_http_request_duration_seconds"
    submit = _mean_ms(metrics, http, {"route": "/api/v1/evaluations", "method": "POST"})
    peer = "rex_evaluator_peer_call_seconds"
    budget = _mean_ms(metrics, peer, {"service": "budget", "method": "POST"})
    ledger = _mean_ms(metrics, peer, {"service": "ledger", "method": "POST"})
    return (
        f"| server side (means) | submit {submit:.0f} ms | budget reservation {budget:.0f} ms |"
        f" ledger estimate (uncached only) {ledger:.0f} ms |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=float, default=0.12, help="submissions/s per user")
    parser.add_argument("--rows", type=int, default=2)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="evaluator instances running the evaluations (0: the API instance runs them too)",
    )
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="rex-locust-")) / "evaluator"
    # The background runs must keep up; the provider gate bounds calls in flight.
    env = {"REX_EVALUATOR_RUN_CONCURRENCY": "2", "REX_EVALUATOR_DB_POOL_MAX": "20"}
    with evaluator_stack(env, workers=args.workers) as stack:
        locust_env = {
            **os.environ,
            "REX_BENCH_JWT_SECRET": stack.jwt_secret(),
            "REX_BENCH_RATE": str(args.rate),
            "REX_BENCH_ROWS": str(args.rows),
        }
        command = [
            sys.executable, "-m", "locust", "-f", str(HERE / "locustfile_evaluator.py"),
            "--headless", "-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds}s",
            "--host", stack.url("evaluator"), "--csv", str(out), "--only-summary",
            "--stop-timeout", "10", "--loglevel", "WARNING",
        ]  # fmt: skip
        subprocess.run(command, env=locust_env, check=False)
        breakdown = _server_side(stack.url("evaluator"))
    submit = _row(Path(f"{out}_stats.csv"), "submit")
    requests, failures = int(submit["Request Count"]), int(submit["Failure Count"])
    started = (requests - failures) / args.seconds
    p95 = float(submit["95%"])
    print(f"| submissions | {requests} | failures {failures} | started {started:.1f}/s |"
          f" p50 {submit['50%']} ms | p95 {p95:.0f} ms | p99 {submit['99%']} ms |")  # fmt: skip
    print(breakdown)
    verdict = "pass" if started >= 10 else "short"
    print(f"BENCH evaluator_load evaluations_started={started:.1f} per_s target=>=10 {verdict}")
    verdict = "pass" if p95 < 200 and failures == 0 else "short"
    print(f"BENCH evaluator_load submit_p95={p95:.0f} ms target=<200 {verdict}")


if __name__ == "__main__":
    main()
