"""Ledger entries: one priced (or unpriced) row per provider call."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from rex_shared.events import CostComponents, LlmCallCompleted

from cost_ledger.domain.pricebook import PriceBook, PriceStatus


@dataclass(frozen=True)
class LedgerEntry:
    """A call as the ledger records it: the event, how it was priced, and when."""

    event_id: str
    call: LlmCallCompleted
    model_id: str | None
    service_tier: str
    batch: bool
    price_id: str | None
    status: PriceStatus
    cost: CostComponents
    recorded_at: datetime

    @property
    def call_id(self) -> UUID:
        return self.call.call_id


def entry_for(
    event_id: str, call: LlmCallCompleted, book: PriceBook, *, now: datetime
) -> LedgerEntry:
    """Price a completed call at the rates in force when it completed (failed calls too)."""
    plan = book.plan(call.provider, call.model, call.service_tier, call.batch, call.org_id)
    quote = plan.quote(call.usage, call.completed_at)
    return LedgerEntry(
        event_id=event_id, call=call, model_id=quote.model_id, service_tier=plan.tier,
        batch=plan.batch, price_id=quote.row.id if quote.row else None, status=quote.status,
        cost=quote.cost, recorded_at=now,
    )  # fmt: skip
