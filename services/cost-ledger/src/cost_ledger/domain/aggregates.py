"""Per-evaluation and per-metric totals, summed in memory so each key is one upsert per batch."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from cost_ledger.domain.ledger import LedgerEntry

TOKEN_FIELDS = (
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "input_audio_tokens", "output_audio_tokens",
    "web_search_requests",
)  # fmt: skip
COST_FIELDS = (
    "input", "cache_read", "cache_write", "output", "input_audio", "output_audio", "web_search",
    "total",
)  # fmt: skip
NO_METRIC = ""  # calls without a metric still add up to the evaluation total


@dataclass
class Totals:
    """Sums over some calls of one evaluation (or one evaluation and metric)."""

    org_id: str
    project_id: str
    user_id: str
    calls: int = 0
    failed_calls: int = 0
    unpriced_calls: int = 0
    latency_ms: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_FIELDS, 0))
    costs: dict[str, Decimal] = field(default_factory=lambda: {k: Decimal(0) for k in COST_FIELDS})
    first_call_at: datetime | None = None
    last_call_at: datetime | None = None

    def add(self, entry: LedgerEntry) -> None:
        """Count one ledger entry in."""
        call = entry.call
        self.calls += 1
        self.failed_calls += call.status == "failed"
        self.unpriced_calls += entry.status == "unpriced"
        self.latency_ms += call.latency_ms
        for name in TOKEN_FIELDS:
            self.tokens[name] += getattr(call.usage, name)
        for name in COST_FIELDS:
            self.costs[name] += getattr(entry.cost, name)
        at = call.completed_at
        self.first_call_at = at if self.first_call_at is None else min(self.first_call_at, at)
        self.last_call_at = at if self.last_call_at is None else max(self.last_call_at, at)


def _new(entry: LedgerEntry) -> Totals:
    call = entry.call
    return Totals(org_id=call.org_id, project_id=call.project_id, user_id=call.user_id)


def by_evaluation(entries: Iterable[LedgerEntry]) -> dict[UUID, Totals]:
    """Totals per evaluation; calls outside an evaluation are not aggregated here."""
    totals: dict[UUID, Totals] = {}
    for entry in entries:
        evaluation = entry.call.evaluation_id
        if evaluation is not None:
            totals.setdefault(evaluation, _new(entry)).add(entry)
    return totals


def by_metric(entries: Iterable[LedgerEntry]) -> dict[tuple[UUID, str], Totals]:
    """Totals per (evaluation, metric)."""
    totals: dict[tuple[UUID, str], Totals] = {}
    for entry in entries:
        evaluation = entry.call.evaluation_id
        if evaluation is not None:
            key = (evaluation, entry.call.metric or NO_METRIC)
            totals.setdefault(key, _new(entry)).add(entry)
    return totals
