"""In-memory stand-ins for the budget's storage, with transaction rollback."""

import copy
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from budget.domain.model import Budget, Payer, covers
from budget.domain.usage import Alert, Charge
from rex_shared.cloudevents import OutgoingEvent


@dataclass
class State:
    seen: set[str] = field(default_factory=set)
    usage: dict[tuple[UUID, datetime], Decimal] = field(default_factory=dict)
    firings: set[tuple[UUID, datetime, Decimal, str]] = field(default_factory=set)
    alerts: list[Alert] = field(default_factory=list)
    outbox: list[OutgoingEvent] = field(default_factory=list)
    calls: list[tuple[str, object]] = field(default_factory=list)


class FakeStore:
    """UsageStore over plain dicts."""

    def __init__(self, budgets: Sequence[Budget], state: State) -> None:
        self.budgets, self.state = list(budgets), state

    async def claim(self, event_id: str) -> bool:
        self.state.calls.append(("claim", event_id))
        fresh = event_id not in self.state.seen
        self.state.seen.add(event_id)
        return fresh

    async def budgets_covering(self, payers: Sequence[Payer]) -> list[Budget]:
        # Like the SQL: by org and entity only; the domain applies filters.
        return [b for b in self.budgets if any(covers(b, p) for p in payers)]

    async def add_usage(self, charge: Charge) -> Decimal:
        key = (charge.budget.id, charge.period.start)
        self.state.calls.append(("add_usage", key))
        self.state.usage[key] = self.state.usage.get(key, Decimal(0)) + charge.amount
        return self.state.usage[key]

    async def record_alert(self, alert: Alert) -> bool:
        key = (alert.budget.id, alert.period.start, alert.threshold, alert.kind)
        if key in self.state.firings:
            return False
        self.state.firings.add(key)
        self.state.alerts.append(alert)
        return True

    async def enqueue(self, events: list[OutgoingEvent]) -> None:
        self.state.outbox.extend(events)


class FakeDatabase:
    """Hands out FakeStores; a failing unit of work leaves the state as it was."""

    def __init__(self, budgets: Sequence[Budget], *, fail_on_add: int | None = None) -> None:
        self.budgets, self.state = list(budgets), State()
        self.fail_on_add = fail_on_add

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[FakeStore]:
        before = copy.deepcopy(self.state)
        try:
            yield FakeStore(self.budgets, self.state)
        except BaseException:
            self.state = before
            raise


class FakeProducer:
    """Records what would have been sent to Kafka."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, dict[str, bytes]]] = []

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        self.sent.append((topic, value, key, dict(headers or [])))
