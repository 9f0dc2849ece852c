"""The one percentile rule and the one BENCH line every benchmark in bench/ uses.

Percentiles are nearest-rank (the definition in most statistics texts and in HdrHistogram):
the q-th percentile of n sorted values is the value at 1-based rank ceil(q * n), so it is
always a value that was measured, p100 is the maximum, and p99 of 100 values is the 99th.
Before this module the benchmarks used three different index rules, which moved tail
figures by a rank or two between benchmarks.

`bench_line` writes the line `bench/run_all.py` collects into `bench/results/summary.md`:

    BENCH <name> <metric>=<value> <unit> [target=<target>] <pass|short|info>
"""

import math
from collections.abc import Iterable, Sequence

Verdict = str  # "pass", "short" or "info"


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile, q in [0, 1]; NaN for no values."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be within [0, 1], not {q}")
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def percentiles(values: Sequence[float], *qs: float) -> tuple[float, ...]:
    """Several nearest-rank percentiles of one sample, sorted once."""
    ordered = sorted(values)
    return tuple(percentile(ordered, q) for q in qs)


def verdict(ok: bool) -> Verdict:
    return "pass" if ok else "short"


def bench_line(
    name: str,
    metric: str,
    value: float | int | str,
    unit: str,
    target: str | float | None = None,
    ok: bool | None = None,
    digits: int = 2,
) -> str:
    """One BENCH line. With no target the figure is `info`; with one, `ok` says pass/short."""
    shown = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    if target is None:
        return f"BENCH {name} {metric}={shown} {unit} info"
    if ok is None:
        raise ValueError("a figure with a target needs ok=True or ok=False")
    target_text = f"{target:g}" if isinstance(target, float) else str(target)
    return f"BENCH {name} {metric}={shown} {unit} target={target_text} {verdict(ok)}"
