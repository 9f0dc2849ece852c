"""bench/: one percentile rule, BENCH lines, and a `make bench` that leaves nothing out."""

import importlib
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]
BENCH = REPO / "bench"
pytestmark = pytest.mark.unit


def _bench(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def stats() -> ModuleType:
    return _bench("_stats")


@pytest.fixture(scope="module")
def run_all() -> ModuleType:
    return _bench("run_all")


def test_percentile_is_nearest_rank(stats: ModuleType) -> None:
    values = list(range(1, 101))  # 1..100, shuffled order must not matter
    values.reverse()
    assert stats.percentile(values, 0.99) == 99
    assert stats.percentile(values, 0.5) == 50
    assert stats.percentile(values, 1.0) == 100
    assert stats.percentile(values, 0.0) == 1
    assert stats.percentile([7.0], 0.99) == 7.0
    # ceil(0.95 * 10) = 10th value: with few samples p95 is the maximum, not an interpolation
    assert stats.percentile([float(v) for v in range(10)], 0.95) == 9.0
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0


def test_percentile_of_nothing_and_out_of_range(stats: ModuleType) -> None:
    assert stats.percentile([], 0.5) != stats.percentile([], 0.5)  # NaN
    with pytest.raises(ValueError):
        stats.percentile([1.0], 1.5)


def test_bench_line_round_trips_through_the_collector(
    stats: ModuleType, run_all: ModuleType
) -> None:
    lines = [
        stats.bench_line("soak", "throughput", 998.4, "calls/s", 1000, False, digits=0),
        stats.bench_line("soak", "counted", "5/5", "calls", "all", True),
        stats.bench_line("soak", "p99_e2e", 12.345, "ms"),
    ]
    rows = run_all.parse("noise\n" + "\n".join(lines))
    assert [(r["metric"], r["value"], r["target"], r["verdict"]) for r in rows] == [
        ("throughput", "998", "1000", "short"),
        ("counted", "5/5", "all", "pass"),
        ("p99_e2e", "12.35", None, "info"),
    ]
    with pytest.raises(ValueError):
        stats.bench_line("x", "y", 1.0, "ms", 5)  # a target with no verdict


def _script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_a_crash_a_timeout_and_a_silent_benchmark_each_get_a_row(
    tmp_path: Path, run_all: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_all, "ROOT", tmp_path)
    ok = _script(tmp_path, "fine", 'print("BENCH fine rate=5 /s target=4 pass")')
    crash = _script(
        tmp_path,
        "broken",
        'print("BENCH broken half=1 ms info")\nraise ImportError("cannot import name x")',
    )
    slow = _script(tmp_path, "slow", "import time\ntime.sleep(30)")
    silent = _script(tmp_path, "silent", 'print("done")')
    outcomes = [run_all.run(p, timeout_s=2) for p in (ok, crash, slow, silent)]
    assert [o.problem for o in outcomes] == [
        None,
        "crashed (exit 1)",
        "timed out after 2 s",
        "printed no figure",
    ]
    assert outcomes[1].tail == "ImportError: cannot import name x"
    text = run_all.render(outcomes, run_all.datetime.now(run_all.UTC), 10.0, [], "abc1234")
    assert "commit abc1234" in text
    table = [ln for ln in text.splitlines() if ln.startswith("| ") and "---" not in ln][1:]
    assert len(table) == 5  # fine, broken's own figure, broken's error, slow, silent
    assert "| broken | crashed (exit 1): ImportError: cannot import name x | - | error |" in text
    assert "| slow | timed out after 2 s" in text
    assert "| silent | printed no figure" in text
    assert "failed: broken, slow, silent" in text


def test_the_readme_quotes_the_summary_verbatim(run_all: ModuleType) -> None:
    """The README's figures are the last `make bench`, not a hand-edited copy of it."""
    readme = (REPO / "README.md").read_text()
    block = readme.split(run_all.BEGIN, 1)[1].split(run_all.END, 1)[0]
    assert block.strip() == (BENCH / "results" / "summary.md").read_text().strip()


def test_every_benchmark_is_run_by_make_bench(run_all: ModuleType) -> None:
    found = {p.stem for p in run_all.benchmarks([])}
    assert {"soak", "budget_check", "evaluator_load", "notifier_throughput"} <= found
    assert not any(n.startswith(("_", "locustfile", "run_all")) for n in found)
