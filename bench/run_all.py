"""`make bench`: run every benchmark in bench/, one at a time, and record all of them.

Each benchmark prints its own table and ends with lines of the form
`BENCH <name> <metric>=<value> <unit> [target=<target>] <pass|short|info>` (bench/_stats.py
writes them); this script collects them. A benchmark that crashes, times out or prints no
figure gets a row that says so: nothing is left out. The result is written as it is to
`bench/results/summary.md` (the date, the commit and the machine at the top) and quoted
verbatim into the README between its `bench-summary` markers, so no figure is hand-edited.

PostgreSQL (durable settings, fsync on) and Kafka are started for the run when they are not
running, and stopped again afterwards, so a clean clone needs nothing started by hand.
"""

import argparse
import importlib
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SUMMARY = HERE / "results" / "summary.md"
PARTIAL = HERE / "results" / "partial.md"
README = ROOT / "README.md"
BEGIN, END = "<!-- bench-summary:begin -->", "<!-- bench-summary:end -->"
LINE = re.compile(
    r"^BENCH (?P<name>\S+) (?P<metric>[^=\s]+)=(?P<value>\S+) (?P<unit>\S+)"
    r"(?: target=(?P<target>\S+))? (?P<verdict>pass|short|info)\s*$"
)
SKIP_PREFIXES = ("_", "run_all", "locustfile")


@dataclass
class Outcome:
    """What one benchmark process left behind."""

    name: str
    exit_code: int | None  # None: killed at the time limit
    seconds: float
    rows: list[dict[str, str]] = field(default_factory=list)
    tail: str = ""

    @property
    def problem(self) -> str | None:
        if self.exit_code is None:
            return f"timed out after {self.seconds:.0f} s"
        if self.exit_code != 0:
            return f"crashed (exit {self.exit_code})"
        if not self.rows:
            return "printed no figure"
        return None


def benchmarks(only: list[str]) -> list[Path]:
    found = sorted(p for p in HERE.glob("*.py") if not p.name.startswith(SKIP_PREFIXES))
    return [p for p in found if not only or any(o in p.stem for o in only)]


def parse(out: str) -> list[dict[str, str]]:
    return [m.groupdict() for line in out.splitlines() if (m := LINE.match(line.strip()))]


def last_error_line(out: str) -> str:
    """The line a reader needs from a crash: the exception, else the last non-empty line."""
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b", ln)]
    text = (errors or lines or [""])[-1]
    return text.replace("|", "\\|")[:160]


def run(path: Path, timeout_s: int) -> Outcome:
    start = time.monotonic()
    # Each benchmark is its own process group so a timeout also ends what it started.
    proc = subprocess.Popen(
        [sys.executable, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 15)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            out, _ = proc.communicate()
        code = None
    sys.stdout.write(out)
    outcome = Outcome(path.stem, code, time.monotonic() - start, parse(out))
    if outcome.problem:
        outcome.tail = last_error_line(out)
    return outcome


def _first(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def machine() -> list[str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                 if ln.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    mem_kib = next(
        (int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
         if ln.startswith("MemTotal:")),
        0,
    )  # fmt: skip
    pg_bin = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
    return [
        f"- machine: {os.cpu_count()} cores ({cpu}), {mem_kib / 1024 / 1024:.1f} GiB memory,"
        f" {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {_first([f'{pg_bin}/postgres', '--version'])};"
        f" {_first(['java', '-version'])}",
        "- Kafka and PostgreSQL local processes on this machine (PostgreSQL durable: fsync on);"
        " LLM calls answered by the simulated provider (tools/llm-sim), not a real one",
    ]


def commit() -> str:
    """The commit measured, read before the run: benchmarks write into bench/results/."""
    sha = _first(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":(exclude)bench/results",
            ":(exclude)README.md",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{sha}{' (with uncommitted changes)' if dirty else ''}"


def render(
    outcomes: list[Outcome], started: datetime, wall_s: float, only: list[str], measured: str
) -> str:
    lines = [
        f"Written by `make bench` (bench/run_all.py{' ' + ' '.join(only) if only else ''}),"
        f" {started:%Y-%m-%d %H:%M} UTC, commit {measured}, {wall_s / 60:.0f} min in all;"
        " one benchmark at a time. Not edited by hand.",
        "",
        *machine(),
        "",
        "| benchmark | figure | target | verdict | seconds |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        for r in o.rows:
            lines.append(
                f"| {r['name']} {r['metric']} | {r['value']} {r['unit']} | {r['target'] or '-'}"
                f" | {r['verdict']} | {o.seconds:.0f} |"
            )
        if o.problem:
            lines.append(f"| {o.name} | {o.problem}: {o.tail} | - | error | {o.seconds:.0f} |")
    failed = [o.name for o in outcomes if o.problem]
    short = sorted({r["name"] for o in outcomes for r in o.rows if r["verdict"] == "short"})
    lines += [
        "",
        f"{len(outcomes)} benchmarks: {len(outcomes) - len(failed)} ran to the end"
        f"{', failed: ' + ', '.join(failed) if failed else ''};"
        f" {'short of a target: ' + ', '.join(short) if short else 'every target met'}.",
    ]
    return "\n".join(lines) + "\n"


def quote_in_readme(summary: str) -> None:
    """Replace the README's block between the markers with the summary, verbatim."""
    text = README.read_text()
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not (sep and sep2):
        print(f"README.md has no {BEGIN} ... {END} block; not quoted there")
        return
    README.write_text(f"{head}{BEGIN}\n{summary}{END}{tail}")


class Infra:
    """Kafka and PostgreSQL for the run: started here only when not already running."""

    SCRIPT = ROOT / "deploy" / "local" / "rexinfra.sh"

    def __init__(self) -> None:
        self.started: list[str] = []

    def __enter__(self) -> "Infra":
        for part in ("pg", "kafka"):
            if subprocess.run(["bash", str(self.SCRIPT), f"{part}-status"],
                              capture_output=True, check=False).returncode != 0:  # fmt: skip
                subprocess.run(["bash", str(self.SCRIPT), f"{part}-start"], check=True)
                self.started.append(part)
        return self

    def __exit__(self, *_: object) -> None:
        for part in reversed(self.started):
            subprocess.run(["bash", str(self.SCRIPT), f"{part}-stop"], check=False)


def import_all() -> int:
    """Import every module in bench/ (what `make lint` runs): a benchmark that no longer
    imports fails CI instead of vanishing from the next `make bench`."""
    sys.path.insert(0, str(HERE))
    modules, failed = sorted(HERE.glob("*.py")), 0
    for path in modules:
        if path.stem.startswith("locustfile"):
            # Locust monkey-patches the standard library when imported: its own process.
            done = subprocess.run([sys.executable, "-c", f"import {path.stem}"], cwd=HERE,
                                  capture_output=True, text=True, check=False)  # fmt: skip
            if done.returncode != 0:
                print(f"bench/{path.name}: {last_error_line(done.stderr)}")
                failed += 1
            continue
        try:
            importlib.import_module(path.stem)
        except Exception as exc:  # any failure to import is what this check reports
            print(f"bench/{path.name}: {type(exc).__name__}: {exc}")
            failed += 1
    print(f"bench: {len(modules) - failed} modules import, {failed} do not")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", help="substrings of benchmark names to run")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per benchmark")
    parser.add_argument("--import-only", action="store_true", help="import each module, run none")
    args = parser.parse_args()
    if args.import_only:
        return import_all()
    started, t0, measured = datetime.now(UTC), time.monotonic(), commit()
    outcomes = []
    with Infra():
        for path in benchmarks(args.only):
            print(f"\n===== {path.name} =====", flush=True)
            outcomes.append(run(path, args.timeout))
    summary = render(outcomes, started, time.monotonic() - t0, args.only, measured)
    # A run of some benchmarks only goes to partial.md: summary.md always holds all of them.
    target = PARTIAL if args.only else SUMMARY
    target.parent.mkdir(exist_ok=True)
    target.write_text(summary)
    if not args.only:
        quote_in_readme(summary)
    print(f"\n{summary}\nwritten to {target.relative_to(ROOT)}")
    # Written first, then the exit status: a benchmark that crashed fails `make bench`.
    return 1 if any(o.problem for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
