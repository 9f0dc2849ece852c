"""Repricing: a recorded cost against today's catalog, corrected by a new adjustment entry."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid5

from rex_shared.events import REX_NAMESPACE, CallStatus, CostComponents, Usage

from cost_ledger.domain.pricebook import PriceBook, PriceStatus

_PARTS = tuple(CostComponents.model_fields)


@dataclass(frozen=True)
class Recorded:
    """A call as the ledger holds it now: its charge plus every adjustment so far."""

    call_id: UUID
    org_id: str
    project_id: str
    user_id: str
    evaluation_id: UUID | None
    metric: str | None
    provider: str
    model: str
    call_status: CallStatus
    service_tier: str
    batch: bool
    usage: Usage
    occurred_at: datetime
    status: PriceStatus  # effective: priced once any adjustment priced it
    price_id: str | None  # effective: the latest row used
    cost: CostComponents  # effective: charge + every delta
    last_seq: int


@dataclass(frozen=True)
class Scope:
    """Which recorded calls to look at."""

    org_id: str
    provider: str | None = None
    model: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    after: tuple[datetime, UUID] | None = None
    include_priced: bool = False  # default: the unpriced backlog only


@dataclass(frozen=True)
class Adjustment:
    """A correction: cost deltas that bring a call to what the catalog says today."""

    of: Recorded
    seq: int
    price_id: str
    model_id: str | None
    new_cost: CostComponents
    delta: CostComponents
    unpriced_delta: int  # -1 when it prices a call that was unpriced
    recorded_at: datetime

    @property
    def adjustment_id(self) -> UUID:
        """Deterministic: the n-th adjustment of a call has one id, whoever computes it."""
        return uuid5(REX_NAMESPACE, f"adjust:{self.of.call_id}:{self.seq}")

    @property
    def event_id(self) -> str:
        return str(uuid5(REX_NAMESPACE, f"adjust:{self.adjustment_id}"))


def minus(a: CostComponents, b: CostComponents) -> CostComponents:
    """Component-wise a - b (exact)."""
    return CostComponents(**{k: getattr(a, k) - getattr(b, k) for k in _PARTS})


def plus(a: CostComponents, b: CostComponents) -> CostComponents:
    """Component-wise a + b (exact)."""
    return CostComponents(**{k: getattr(a, k) + getattr(b, k) for k in _PARTS})


def reprice(call: Recorded, book: PriceBook, *, now: datetime) -> Adjustment | None:
    """The adjustment the catalog asks for today, or None (still unknown, or nothing changed)."""
    quote = book.quote(
        call.usage, provider=call.provider, model=call.model, at=call.occurred_at,
        service_tier=call.service_tier, batch=call.batch, org_id=call.org_id,
    )  # fmt: skip
    if quote.row is None:
        return None
    delta = minus(quote.cost, call.cost)
    if call.status == "priced" and not any(getattr(delta, k) for k in _PARTS):
        return None
    return Adjustment(
        of=call, seq=call.last_seq + 1, price_id=quote.row.id, model_id=quote.model_id,
        new_cost=quote.cost, delta=delta, unpriced_delta=-1 if call.status == "unpriced" else 0,
        recorded_at=now,
    )  # fmt: skip


def total_delta(adjustments: list[Adjustment]) -> Decimal:
    """What the adjustments add up to."""
    return sum((a.delta.total for a in adjustments), Decimal(0))
