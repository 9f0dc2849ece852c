"""Recording calls: duplicates add nothing, aggregates are exact, each new row yields one event."""

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4, uuid5

from cost_ledger.domain.aggregates import by_evaluation, by_metric
from cost_ledger.domain.catalog import seed_rows
from cost_ledger.domain.ledger import LedgerEntry, cost_event_id, entry_for
from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.pricebook import PriceBook
from cost_ledger.handlers import record_calls
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.consumer import Received
from rex_shared.events import REX_NAMESPACE, LlmCallCompleted, Usage

BOOK = PriceBook(seed_rows(), ModelResolver())
NOW = datetime(2025, 7, 1, 12, tzinfo=UTC)


def call(evaluation: UUID | None = None, **overrides: Any) -> LlmCallCompleted:
    data: dict[str, Any] = {
        "call_id": uuid4(), "evaluation_id": evaluation, "metric": "faithfulness",
        "org_id": "org-1", "project_id": "p", "user_id": "u", "provider": "openai",
        "model": "gpt-4o-2024-08-06", "requested_model": "gpt-4o", "api": "chat.completions",
        "started_at": NOW - timedelta(seconds=1), "completed_at": NOW, "latency_ms": 1000,
        "status": "succeeded", "usage": Usage(input_tokens=1000, output_tokens=100),
    }  # fmt: skip
    data.update(overrides)
    return LlmCallCompleted(**data)


@dataclass
class FakeTx:
    """Keeps rows by call_id the way the unique key does."""

    rows: dict[UUID, LedgerEntry] = field(default_factory=dict)
    aggregated: list[LedgerEntry] = field(default_factory=list)
    outbox: list[OutgoingEvent] = field(default_factory=list)

    async def insert_entries(self, entries: Sequence[LedgerEntry]) -> set[UUID]:
        new = {e.call_id for e in entries if e.call_id not in self.rows}
        self.rows.update({e.call_id: e for e in entries if e.call_id in new})
        return new

    async def add_to_aggregates(self, entries: Sequence[LedgerEntry]) -> None:
        self.aggregated.extend(entries)

    async def enqueue(self, events: list[OutgoingEvent]) -> None:
        self.outbox.extend(events)


@dataclass
class FakeStore:
    tx: FakeTx = field(default_factory=FakeTx)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeTx]:
        yield self.tx


async def record(store: FakeStore, *calls: LlmCallCompleted) -> None:
    received = [Received(str(c.call_id), c) for c in calls]
    await record_calls(received, store=store, book=lambda: BOOK, now=lambda: NOW)


async def test_a_call_seen_again_adds_no_row_no_total_and_no_event() -> None:
    store, first = FakeStore(), call(uuid4())
    await record(store, first, first)  # a re-send inside one batch
    await record(store, first)  # and a redelivery later
    assert len(store.tx.rows) == 1
    assert len(store.tx.aggregated) == 1
    assert [e.id for e in store.tx.outbox] == [cost_event_id(first.call_id)]


async def test_the_cost_event_carries_the_exact_cost_and_the_row_used() -> None:
    store, c = FakeStore(), call(uuid4())
    await record(store, c)
    (event,) = store.tx.outbox
    data = json.loads(event.data)
    assert event.key == "org-1" and event.source == "rex/cost-ledger"
    assert event.id == str(uuid5(REX_NAMESPACE, f"cost:{c.call_id}"))
    assert data["cost"]["total"] == "0.0035"  # 1000 x $2.50 + 100 x $10 per MTok
    assert (data["status"], data["price_id"]) == ("priced", "genai:openai:gpt-4o:initial")


async def test_a_failed_call_and_an_unknown_model_are_recorded_not_dropped() -> None:
    store = FakeStore()
    failed = call(status="failed", error="timeout", usage=Usage())
    unknown = call(model="mystery-model-1")
    await record(store, failed, unknown)
    rows = store.tx.rows
    assert rows[failed.call_id].cost.total == 0 and rows[failed.call_id].status == "priced"
    assert (rows[unknown.call_id].status, rows[unknown.call_id].price_id) == ("unpriced", None)
    assert len(store.tx.outbox) == 2


def test_evaluation_and_metric_totals_are_exact_sums() -> None:
    evaluation = uuid4()
    calls = [call(evaluation, metric=m, status=s, completed_at=NOW + timedelta(minutes=i))
             for i, (m, s) in enumerate([("a", "succeeded"), ("a", "failed"), ("b", "succeeded"),
                                         (None, "succeeded")])]  # fmt: skip
    entries = [entry_for(str(c.call_id), c, BOOK, now=NOW) for c in calls]
    total = by_evaluation(entries)[evaluation]
    assert (total.calls, total.failed_calls, total.unpriced_calls) == (4, 1, 0)
    assert total.costs["total"] == Decimal("0.0035") * 4
    assert total.tokens["input_tokens"] == 4000
    assert (total.first_call_at, total.last_call_at) == (NOW, NOW + timedelta(minutes=3))
    metrics = by_metric(entries)
    assert {m: t.calls for (_, m), t in metrics.items()} == {"a": 2, "b": 1, "": 1}


def test_calls_outside_an_evaluation_have_no_evaluation_totals() -> None:
    c = call(None)
    assert by_evaluation([entry_for("x", c, BOOK, now=NOW)]) == {}
