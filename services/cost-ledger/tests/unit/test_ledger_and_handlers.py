"""Recording calls: duplicates add nothing, aggregates are exact, each new row yields one event."""

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4, uuid5

from cost_ledger.domain.catalog import seed_rows
from cost_ledger.domain.ledger import LedgerEntry, entry_for
from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.pricebook import PriceBook
from cost_ledger.events import cost_data, cost_event_id, cost_payloads, cost_recorded
from cost_ledger.handlers.ingest import record_calls
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.consumer import Received
from rex_shared.events import REX_NAMESPACE, LlmCallCompleted, LlmCostRecorded, Usage

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
    """Keeps rows by call_id the way the unique key does; new rows yield their cost event."""

    rows: dict[UUID, LedgerEntry] = field(default_factory=dict)
    outbox: list[OutgoingEvent] = field(default_factory=list)

    async def record_charges(self, entries: Sequence[LedgerEntry], at: datetime) -> list[Any]:
        new = [e for e in entries if e.call_id not in self.rows]
        self.rows.update({e.call_id: e for e in new})
        self.outbox.extend(cost_recorded(e) for e in new)
        return [e.call_id for e in new]

    async def record_adjustments(self, adjustments: Sequence[Any], at: datetime) -> list[Any]:
        raise AssertionError("the consumer never adjusts")


@dataclass
class FakeStore:
    tx: FakeTx = field(default_factory=FakeTx)

    @asynccontextmanager
    async def transaction(self, org_id: str | None = None) -> AsyncIterator[FakeTx]:
        assert org_id is None  # the consumer works across orgs
        yield self.tx


async def record(store: FakeStore, *calls: LlmCallCompleted) -> list[Any]:
    received = [Received(str(c.call_id), c) for c in calls]
    seen: list[Any] = []
    await record_calls(received, store=store, book=lambda: BOOK, now=lambda: NOW,
                       observe=seen.extend)  # fmt: skip
    return seen


async def test_a_call_seen_again_adds_no_row_and_no_event() -> None:
    store, first = FakeStore(), call(uuid4())
    assert await record(store, first, first) == [first.call_id]  # a re-send inside one batch
    assert await record(store, first) == []  # and a redelivery later
    assert len(store.tx.rows) == 1
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


def test_the_unvalidated_cost_event_equals_the_validated_one() -> None:
    entry = entry_for("e", call(uuid4(), usage=Usage(input_tokens=10, output_tokens=3)), BOOK,
                      now=NOW)  # fmt: skip
    fast = cost_data(entry)
    checked = LlmCostRecorded.model_validate(fast.model_dump())
    assert fast == checked and fast.model_dump_json() == checked.model_dump_json()


def test_the_fast_cost_event_id_is_the_uuid5_of_the_contract() -> None:
    for _ in range(200):
        call_id = uuid4()
        assert cost_event_id(call_id) == str(uuid5(REX_NAMESPACE, f"cost:{call_id}"))


def _entries() -> list[LedgerEntry]:
    odd = 'metric "quoted" \\ back\\slash \n\t\x01 éü 漢字 \u2028'
    calls = [
        call(uuid4()),
        call(None, metric=None, status="failed", error="boom", usage=Usage()),
        call(uuid4(), model="mystery-model-1"),  # unpriced: price_id null, zero cost
        call(uuid4(), metric=odd, org_id=odd, project_id=odd, user_id=odd),
        call(uuid4(), provider="anthropic", model="claude-sonnet-4-5-20250929",
             usage=Usage(input_tokens=250_000, cache_read_tokens=1000, cache_write_tokens=2000,
                         cache_write_1h_tokens=500, output_tokens=900, reasoning_tokens=100,
                         web_search_requests=3)),
        call(uuid4(), completed_at=NOW.replace(microsecond=0)),
        call(uuid4(), completed_at=NOW.replace(microsecond=123)),
        # naive (no offset written); unpriced, since a naive instant cannot be priced
        call(uuid4(), model="mystery-model-1", completed_at=datetime(2025, 7, 1, 12, 30)),
        call(uuid4(), completed_at=NOW.astimezone(timezone(timedelta(hours=2)))),
        call(uuid4(), completed_at=NOW.astimezone(timezone(timedelta(0)))),
        call(uuid4(), service_tier="flex", batch=True),
    ]  # fmt: skip
    entries = [entry_for(str(c.call_id), c, BOOK, now=NOW) for c in calls]
    entries.append(entry_for("x", call(uuid4()), BOOK, now=datetime(2025, 7, 1, 12, 0, 1)))
    return entries


def test_the_hand_written_cost_payload_is_byte_for_byte_pydantics() -> None:
    entries = _entries()
    assert cost_payloads(entries) == [cost_data(e).model_dump_json().encode() for e in entries]
    for payload in cost_payloads(entries):
        LlmCostRecorded.model_validate_json(payload)


def test_a_price_plan_quotes_what_the_book_quotes() -> None:
    for e in _entries():
        c = e.call
        quote = BOOK.quote(c.usage, provider=c.provider, model=c.model, at=c.completed_at,
                           service_tier=c.service_tier, batch=c.batch, org_id=c.org_id)  # fmt: skip
        assert (e.model_id, e.price_id, e.status) == (
            quote.model_id, quote.row.id if quote.row else None, quote.status)  # fmt: skip
        assert e.cost == quote.cost and e.cost == type(e.cost).model_validate(e.cost.model_dump())
