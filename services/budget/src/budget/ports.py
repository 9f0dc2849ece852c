"""The storage the use cases depend on, as Protocols (adapters/ implements them)."""

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from rex_shared.cloudevents import OutgoingEvent

from budget.domain.alerts import Alert
from budget.domain.closures import Closure
from budget.domain.model import Budget, Payer
from budget.domain.usage import Charge

PeriodKey = tuple[UUID, datetime]
Spent = tuple[str, UUID, Decimal]


class UsageStore(Protocol):
    """What counting usage needs from storage, all inside one transaction."""

    async def claim(self, event_ids: Sequence[str]) -> set[str]: ...
    async def budgets_covering(self, payers: Sequence[Payer]) -> list[Budget]: ...
    async def add_usage(self, charges: Sequence[Charge]) -> dict[PeriodKey, Decimal]: ...
    async def budgets_now(self, ids: Sequence[UUID]) -> dict[UUID, Budget]: ...
    async def record_alert(self, alert: Alert) -> bool: ...
    async def shrink_holds(self, spent: Sequence[Spent]) -> None: ...
    async def close_before(self, cutoffs: Mapping[UUID, datetime]) -> list[Closure]: ...
    async def enqueue(self, events: list[OutgoingEvent]) -> None: ...


UnitOfWork = Callable[[], AbstractAsyncContextManager[UsageStore]]


class SweepStore(Protocol):
    """What the periodic sweep needs, inside one trusted transaction."""

    async def close_ended(self, ended_by: datetime) -> list[Closure]: ...
    async def expire_reservations(self, now: datetime) -> list[UUID]: ...
    async def enqueue(self, events: list[OutgoingEvent]) -> None: ...


SweepUnitOfWork = Callable[[], AbstractAsyncContextManager[SweepStore]]


class ReservationExists(Exception):
    """The evaluation's reservation was written by a concurrent request first."""
