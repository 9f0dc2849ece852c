"""Prometheus counters of what the ledger recorded. Floats: for dashboards only, the ledger
itself stays exact (NUMERIC); a counter may drift from it in the last float digits."""

from collections.abc import Iterable, Sequence
from datetime import datetime

import asyncpg
from prometheus_client import Counter, Gauge, Histogram
from rex_shared.db import bypass_rls

from cost_ledger.adapters.ledger_repo import Added
from cost_ledger.domain.ledger import LedgerEntry

_LABELS = ("provider", "model", "metric", "org")
COST = Counter("rex_llm_cost_usd", "USD recorded (charges and upward adjustments)", _LABELS)
CREDITED = Counter("rex_llm_cost_credited_usd", "USD taken back by downward adjustments", _LABELS)
TOKENS = Counter("rex_llm_tokens", "Tokens recorded, by kind", (*_LABELS, "kind"))
CALLS = Counter("rex_ledger_calls_recorded", "New ledger rows (charges)", _LABELS)
LAG = Histogram(
    "rex_ledger_processing_lag_seconds",
    "From a call's completed_at to its ledger row being written",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


def observe_added(added: Iterable[Added]) -> None:
    """Count what one transaction added (one increment per label set, not per call)."""
    for a in added:
        labels = (a.provider, a.model, a.metric, a.org_id)
        if a.cost > 0:
            COST.labels(*labels).inc(float(a.cost))
        elif a.cost < 0:
            CREDITED.labels(*labels).inc(float(-a.cost))
        if a.calls:
            CALLS.labels(*labels).inc(a.calls)
        for kind, count in a.tokens.items():
            if count:
                TOKENS.labels(*labels, kind).inc(count)


def observe_lag(entries: Sequence[LedgerEntry], recorded_at: datetime) -> None:
    """Processing lag of each call in a batch."""
    for entry in entries:
        LAG.observe(max((recorded_at - entry.call.completed_at).total_seconds(), 0.0))


TOP_EVALUATIONS = Gauge(
    "rex_evaluation_cost_usd",
    "Cost of the most expensive evaluations of the last 24 hours (bounded label set)",
    ["evaluation_id", "org"],
)
TOP_N = 50


async def refresh_top_evaluations(pool: asyncpg.Pool) -> None:
    """Replace the top-N gauge: a fixed number of series, however many evaluations run."""
    async with pool.acquire() as conn, conn.transaction():
        await bypass_rls(conn)  # one operator view across organizations
        rows = await conn.fetch(
            "SELECT evaluation_id, org_id, total_cost FROM evaluation_costs"
            " WHERE last_call_at > now() - interval '24 hours'"
            " ORDER BY total_cost DESC LIMIT $1",
            TOP_N,
        )
    TOP_EVALUATIONS.clear()
    for r in rows:
        TOP_EVALUATIONS.labels(str(r["evaluation_id"]), r["org_id"]).set(float(r["total_cost"]))
