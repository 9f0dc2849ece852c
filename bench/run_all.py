"""`make bench`: run every benchmark in bench/, one at a time, and print one summary table.

Each benchmark prints its own table and ends with lines of the form
`BENCH <name> <metric>=<value> <unit> target=<target> <pass|short>`; this script collects them.
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
LINE = re.compile(
    r"^BENCH (?P<name>\S+) (?P<metric>[^=\s]+)=(?P<value>\S+) (?P<unit>\S+)"
    r"(?: target=(?P<target>\S+))? (?P<verdict>pass|short|info)\s*$"
)


def benchmarks(only: list[str]) -> list[Path]:
    found = sorted(
        p for p in HERE.glob("*.py") if not p.name.startswith(("_", "run_all", "locustfile"))
    )
    return [p for p in found if not only or any(o in p.stem for o in only)]


def run(path: Path, timeout_s: int) -> tuple[list[dict[str, str]], float, int]:
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            cwd=HERE.parent,
        )
        out, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out, code = str(exc.stdout or ""), -1
    sys.stdout.write(out)
    rows = [m.groupdict() for line in out.splitlines() if (m := LINE.match(line.strip()))]
    return rows, time.monotonic() - start, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", help="substrings of benchmark names to run")
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()
    table = Table(title="REX benchmarks")
    for col in ("benchmark", "figure", "target", "verdict", "seconds"):
        table.add_column(col)
    results = []
    for path in benchmarks(args.only):
        Console().rule(path.name)
        rows, seconds, code = run(path, args.timeout)
        if not rows:
            table.add_row(
                path.stem, f"[red]no figure (exit {code})", "-", "[red]error", f"{seconds:.0f}"
            )
        for r in rows:
            colour = {"pass": "green", "short": "red"}.get(r["verdict"], "white")
            table.add_row(
                f"{r['name']} {r['metric']}",
                f"{r['value']} {r['unit']}",
                r["target"] or "-",
                f"[{colour}]{r['verdict']}",
                f"{seconds:.0f}",
            )
            results.append(r)
    Console().print(table)
    summary = HERE / "results" / "summary.md"
    summary.parent.mkdir(exist_ok=True)
    lines = ["| benchmark | figure | target | verdict |", "|---|---|---|---|"]
    lines += [
        f"| {r['name']} {r['metric']} | {r['value']} {r['unit']} | {r['target'] or '-'} "
        f"| {r['verdict']} |"
        for r in results
    ]
    summary.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
