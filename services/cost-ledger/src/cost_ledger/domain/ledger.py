"""Ledger entries: one priced (or unpriced) row per provider call, and the event it yields."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from rex_shared import cloudevents
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.events import REX_NAMESPACE, CostComponents, LlmCallCompleted, LlmCostRecorded

from cost_ledger.domain.pricebook import PriceBook, PriceStatus, normalize_tier

SOURCE = "rex/cost-ledger"


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
    quote = book.quote(
        call.usage, provider=call.provider, model=call.model, at=call.completed_at,
        service_tier=call.service_tier, batch=call.batch, org_id=call.org_id,
    )  # fmt: skip
    tier, batch = normalize_tier(call.service_tier, call.batch)
    return LedgerEntry(
        event_id=event_id, call=call, model_id=quote.model_id, service_tier=tier, batch=batch,
        price_id=quote.row.id if quote.row else None, status=quote.status, cost=quote.cost,
        recorded_at=now,
    )  # fmt: skip


def cost_event_id(call_id: UUID) -> str:
    """The deterministic id of a call's `llm.cost.recorded` (a re-send keeps it)."""
    return str(uuid5(REX_NAMESPACE, f"cost:{call_id}"))


def cost_data(entry: LedgerEntry) -> LlmCostRecorded:
    """The `llm.cost.recorded` data of a new ledger row.

    Built without re-validation (`model_construct`): every part is already a validated model
    or value, and this runs once per ingested call. A unit test compares it with the validated
    model.
    """
    call = entry.call
    return LlmCostRecorded.model_construct(
        call_id=call.call_id, evaluation_id=call.evaluation_id, metric=call.metric,
        org_id=call.org_id, project_id=call.project_id, user_id=call.user_id,
        provider=call.provider, model=call.model, status=entry.status, call_status=call.status,
        usage=call.usage, cost=entry.cost, price_id=entry.price_id,
        occurred_at=call.completed_at, recorded_at=entry.recorded_at,
    )  # fmt: skip


def cost_recorded(entry: LedgerEntry) -> OutgoingEvent:
    """The `llm.cost.recorded` CloudEvent for a new ledger row, keyed by the paying org."""
    return cloudevents.build(
        cost_data(entry), source=SOURCE, event_id=cost_event_id(entry.call_id),
        key=entry.call.org_id, time=entry.recorded_at,
    )  # fmt: skip
