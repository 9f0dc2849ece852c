"""What the aggregates hold (summed set-wise in SQL, adapters/ledger_sql.py) and how latency
percentiles are read back from their histograms."""

import json
import math
from collections.abc import Sequence

TOKEN_FIELDS = (
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "input_audio_tokens", "output_audio_tokens",
    "web_search_requests",
)  # fmt: skip
COST_FIELDS = (
    "input", "cache_read", "cache_write", "output", "input_audio", "output_audio", "web_search",
    "total",
)  # fmt: skip
COST_COLUMNS = tuple("total_cost" if c == "total" else f"cost_{c}" for c in COST_FIELDS)
NO_METRIC = ""  # calls without a metric still add up to the evaluation total

# Latency buckets grow by 5%: bucket b holds [1.05^b, 1.05^(b+1)) ms, so a percentile read
# from the histogram is at most 5% above the true value (and never above the maximum seen).
GROWTH = 1.05
MAX_BUCKET = 400  # 1.05^400 ms is about 9 years: later latencies share the last bucket


def latency_bucket(latency_ms: int) -> int:
    """The histogram bucket of a latency (the SQL in ledger_sql.py computes the same)."""
    return min(math.floor(math.log(max(latency_ms, 1)) / math.log(GROWTH)), MAX_BUCKET)


def histogram(stored: str | dict[str, int]) -> list[int]:
    """Calls per bucket, dense from bucket 0, from the stored {"bucket": calls} JSON."""
    sparse = json.loads(stored) if isinstance(stored, str) else stored
    counts = {int(b): int(n) for b, n in sparse.items()}
    dense = [0] * (max(counts, default=-1) + 1)
    for bucket, calls in counts.items():
        dense[bucket] = calls
    return dense


def percentile_ms(histogram: Sequence[int], q: float, *, largest: int | None) -> int | None:
    """The q-quantile (0 < q <= 1) of a histogram (calls per bucket): the upper edge of the
    bucket holding it, capped by the largest latency seen."""
    total = sum(histogram)
    if total == 0:
        return None
    rank, seen = math.ceil(q * total), 0
    for bucket, calls in enumerate(histogram):
        seen += calls
        if seen >= rank:
            edge = math.ceil(GROWTH ** (bucket + 1))
            return edge if largest is None else min(edge, largest)
    return largest
