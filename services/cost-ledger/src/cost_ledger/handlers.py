"""Use cases: record completed calls exactly once; reprice recorded calls with adjustments."""

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from rex_shared.consumer import Received
from rex_shared.events import LlmCallCompleted

from cost_ledger.domain.ledger import LedgerEntry, entry_for
from cost_ledger.domain.pricebook import PriceBook
from cost_ledger.domain.repricing import Adjustment, Recorded, Scope, reprice


class LedgerTx(Protocol):
    """What one ledger transaction can do (adapters/ledger_repo.py implements it)."""

    async def record_charges(self, entries: Sequence[LedgerEntry], at: datetime) -> list[Any]:
        """Insert new calls with their aggregates and cost events; duplicates add nothing."""
        ...

    async def record_adjustments(
        self, adjustments: Sequence[Adjustment], at: datetime
    ) -> list[Any]: ...

    async def lock_org(self, org_id: str) -> None:
        """Serialize repricing runs of one org."""
        ...

    async def recorded_calls(self, scope: Scope, *, limit: int) -> list[Recorded]:
        """Calls in scope as the ledger holds them now (charge + adjustments)."""
        ...


class LedgerStore(Protocol):
    def transaction(self, org_id: str | None = None) -> AbstractAsyncContextManager[LedgerTx]: ...


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


def adjustments_for(
    calls: Sequence[Recorded], book: PriceBook, *, now: datetime
) -> list[Adjustment]:
    """The adjustment each call needs today (calls still unknown or unchanged need none)."""
    return [a for c in calls if (a := reprice(c, book, now=now)) is not None]


async def reprice_calls(
    scope: Scope,
    *,
    store: LedgerStore,
    book: Callable[[], PriceBook],
    now: datetime,
    dry_run: bool,
    limit: int,
) -> tuple[list[Recorded], list[Adjustment], list[Any]]:
    """Reprice up to `limit` calls of one org: (examined, adjustments, what was recorded)."""
    async with store.transaction(scope.org_id) as tx:
        await tx.lock_org(scope.org_id)  # a concurrent run sees this one's adjustments
        found = await tx.recorded_calls(scope, limit=limit)
        adjustments = adjustments_for(found, book(), now=now)
        added = [] if dry_run else await tx.record_adjustments(adjustments, now)
    return found, adjustments, added
