"""Usage equals the sum of ledger costs exactly after 100,000 events with duplicates and a
SIGKILL of the budget service part-way (then a restart).

Runs a real `python -m budget serve` on a scratch database (Kafka and PostgreSQL from
REX_KAFKA_BOOTSTRAP / REX_PG_ADMIN_DSN, default the local ones). Costs carry 18 decimal
places, some are negative adjustments, a tenth are published twice; the process is killed
with SIGKILL once 30 % are counted, restarted, and every budget's usage (org, project, user)
is compared with the exact Decimal sum. The integration test runs the same with 10,000.

    uv run python bench/budget_exactness.py [--events 100000] [--kill-at 0.3]
"""

import argparse
import asyncio
import os
import secrets

from rex_testkit.budget.scenarios import run_exactness
from rich.console import Console
from rich.table import Table


async def main(args: argparse.Namespace) -> None:
    run = await run_exactness(
        n=args.events,
        admin_dsn=os.environ.get("REX_PG_ADMIN_DSN", "postgresql://rex@127.0.0.1:5433/rex"),
        bootstrap=os.environ.get("REX_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        jwt_secret=secrets.token_urlsafe(48),
        kill_at=args.kill_at,
        within=args.within,
    )
    title = f"exactness: {run.events} events, {run.published} published"
    table = Table(title=f"{title}, SIGKILL at {run.counted_at_kill} counted")
    for col in ("budget", "ledger sum", "budget usage", "equal"):
        table.add_column(col)
    for name, expected in run.expected.items():
        actual = run.actual[name]
        table.add_row(name, format(expected, "f"), format(actual, "f"), str(expected == actual))
    Console().print(table)
    print(f"took {run.seconds:.1f} s")
    verdict = "pass" if run.exact else "short"
    exact = sum(run.expected[n] == run.actual[n] for n in run.expected)
    total = len(run.expected)
    figure = f"exact_budgets={exact}/{total} budgets target={total}/{total}"
    print(f"BENCH budget_exactness {figure} {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--kill-at", type=float, default=0.3, help="share counted before SIGKILL")
    parser.add_argument("--within", type=float, default=150.0, help="seconds per phase")
    asyncio.run(main(parser.parse_args()))
