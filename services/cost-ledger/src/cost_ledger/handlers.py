"""Use cases: record completed calls in the ledger, exactly once, with their cost events."""

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

from rex_shared.cloudevents import OutgoingEvent
from rex_shared.consumer import Received
from rex_shared.events import LlmCallCompleted

from cost_ledger.domain.ledger import LedgerEntry, cost_recorded, entry_for
from cost_ledger.domain.pricebook import PriceBook


class LedgerTx(Protocol):
    """What one ledger transaction can do (adapters/ledger_repo.py implements it)."""

    async def insert_entries(self, entries: Sequence[LedgerEntry]) -> set[UUID]:
        """Insert rows whose call_id is new; return the call_ids actually inserted."""
        ...

    async def add_to_aggregates(self, entries: Sequence[LedgerEntry]) -> None: ...

    async def enqueue(self, events: list[OutgoingEvent]) -> None: ...


class LedgerStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[LedgerTx]: ...


async def record_calls(
    received: Sequence[Received[LlmCallCompleted]],
    *,
    store: LedgerStore,
    book: Callable[[], PriceBook],
    now: Callable[[], datetime],
) -> None:
    """Price and record a batch in one transaction; calls already in the ledger are skipped."""
    prices, recorded_at = book(), now()
    unique = {r.event.call_id: r for r in received}  # a batch may carry a re-send of itself
    entries = [entry_for(r.event_id, r.event, prices, now=recorded_at) for r in unique.values()]
    async with store.transaction() as tx:
        inserted = await tx.insert_entries(entries)
        new = [e for e in entries if e.call_id in inserted]
        # Only rows this transaction inserted count: a redelivered event adds nothing twice.
        await tx.add_to_aggregates(new)
        await tx.enqueue([cost_recorded(e) for e in new])
