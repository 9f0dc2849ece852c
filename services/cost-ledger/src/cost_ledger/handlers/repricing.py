"""Reprice recorded calls with adjustments (a dry run only reports them)."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from rex_shared.errors import Unavailable

from cost_ledger.domain.pricebook import PriceBook
from cost_ledger.domain.repricing import Adjustment, Recorded, Scope, reprice
from cost_ledger.ports import Contended, LedgerStore

ATTEMPTS = 3


def adjustments_for(
    calls: Sequence[Recorded], book: PriceBook, *, now: datetime
) -> list[Adjustment]:
    """The adjustment each call needs today (calls still unknown or unchanged need none)."""
    return [a for c in calls if (a := reprice(c, book, now=now)) is not None]


async def reprice_org(
    scope: Scope,
    *,
    store: LedgerStore,
    book: Callable[[], PriceBook],
    now: datetime,
    dry_run: bool,
    limit: int,
) -> tuple[list[Recorded], list[Adjustment], list[Any]]:
    """Reprice up to `limit` calls of one org: (examined, adjustments, what was recorded)."""
    # Tried again while the consumer holds the same aggregate rows.
    for attempt in range(ATTEMPTS):
        try:
            async with store.transaction(scope.org_id) as tx:
                await tx.lock_org(scope.org_id)  # a concurrent run sees this one's adjustments
                found = await tx.recorded_calls(scope, limit=limit)
                adjustments = adjustments_for(found, book(), now=now)
                added = [] if dry_run else await tx.record_adjustments(adjustments, now)
            return found, adjustments, added
        except Contended as exc:
            if attempt == ATTEMPTS - 1:
                raise Unavailable("BUSY", "the ledger is busy, try again") from exc
    raise AssertionError("unreachable")
