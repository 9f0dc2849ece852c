"""Record completed calls exactly once."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from rex_shared.consumer import Received
from rex_shared.events import LlmCallCompleted

from cost_ledger.domain.ledger import LedgerEntry, entry_for
from cost_ledger.domain.pricebook import PriceBook
from cost_ledger.ports import LedgerStore


def _ignore(*_: Any) -> None:
    return None


async def record_calls(
    received: Sequence[Received[LlmCallCompleted]],
    *,
    store: LedgerStore,
    book: Callable[[], PriceBook],
    now: Callable[[], datetime],
    observe: Callable[[list[Any]], None] = _ignore,
    observe_lag: Callable[[list[LedgerEntry], datetime], None] = _ignore,
) -> None:
    """Price and record a batch in one transaction; calls already in the ledger are skipped."""
    prices, recorded_at = book(), now()
    unique = {r.event.call_id: r for r in received}  # a batch may carry a re-send of itself
    entries = [entry_for(r.event_id, r.event, prices, now=recorded_at) for r in unique.values()]
    async with store.transaction() as tx:
        added = await tx.record_charges(entries, recorded_at)
    observe(added)
    observe_lag(entries, recorded_at)
