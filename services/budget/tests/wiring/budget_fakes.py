"""In-memory stand-ins for the budget's storage, with transaction rollback."""

import copy
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from budget.domain.alerts import Alert
from budget.domain.closures import Closure
from budget.domain.model import Budget, Payer, covers
from budget.domain.periods import PeriodBounds
from budget.domain.usage import Charge
from rex_shared.cloudevents import OutgoingEvent

Key = tuple[UUID, datetime]


@dataclass
class Hold:
    estimated: Decimal
    consumed: Decimal = Decimal(0)

    @property
    def held(self) -> Decimal:
        return max(min(self.estimated - self.consumed, self.estimated), Decimal(0))


@dataclass
class State:
    seen: set[str] = field(default_factory=set)
    usage: dict[Key, Decimal] = field(default_factory=dict)
    ends: dict[Key, datetime] = field(default_factory=dict)
    closed: set[Key] = field(default_factory=set)
    firings: set[tuple[UUID, datetime, str, Decimal, str]] = field(default_factory=set)
    alerts: list[Alert] = field(default_factory=list)
    holds: dict[tuple[str, UUID], Hold] = field(default_factory=dict)
    outbox: list[OutgoingEvent] = field(default_factory=list)
    calls: list[tuple[str, object]] = field(default_factory=list)


class FakeStore:
    """UsageStore over plain dicts."""

    def __init__(self, budgets: Sequence[Budget], state: State) -> None:
        self.budgets, self.state = list(budgets), state

    async def claim(self, event_ids: Sequence[str]) -> set[str]:
        self.state.calls.append(("claim", sorted(event_ids)))
        fresh = set(event_ids) - self.state.seen
        self.state.seen |= fresh
        return fresh

    async def budgets_covering(self, payers: Sequence[Payer]) -> list[Budget]:
        # Like the SQL: by org and entity only; the domain applies filters.
        return [b for b in self.budgets if any(covers(b, p) for p in payers)]

    async def add_usage(self, charges: Sequence[Charge]) -> dict[Key, Decimal]:
        totals = {}
        for charge in charges:
            key = (charge.budget.id, charge.period.start)
            self.state.calls.append(("add_usage", key))
            self.state.usage[key] = self.state.usage.get(key, Decimal(0)) + charge.amount
            self.state.ends[key] = charge.period.end
            totals[key] = self.state.usage[key]
        return totals

    async def budgets_now(self, ids: Sequence[UUID]) -> dict[UUID, Budget]:
        return {b.id: b for b in self.budgets if b.id in ids}

    async def record_alert(self, alert: Alert) -> bool:
        key = (alert.budget.id, alert.period.start, *alert.key)
        if key in self.state.firings:
            return False
        self.state.firings.add(key)
        self.state.alerts.append(alert)
        return True

    async def shrink_holds(self, spent: Sequence[tuple[str, UUID, Decimal]]) -> None:
        for org, evaluation, amount in spent:
            if (hold := self.state.holds.get((org, evaluation))) is not None:
                hold.consumed += amount

    async def close_before(self, cutoffs: Mapping[UUID, datetime]) -> list[Closure]:
        due = [
            key
            for key, end in self.state.ends.items()
            if key[0] in cutoffs and end <= cutoffs[key[0]] and key not in self.state.closed
        ]
        return [self._close(key) for key in sorted(due)]

    def _close(self, key: Key) -> Closure:
        self.state.closed.add(key)
        budget = next(b for b in self.budgets if b.id == key[0])
        alerts = sum(1 for f in self.state.firings if f[:2] == key and f[4] == "actual")
        period = PeriodBounds(key[1], self.state.ends[key])
        return Closure(budget, period, self.state.usage[key], 0, alerts, self.state.ends[key])

    async def enqueue(self, events: list[OutgoingEvent]) -> None:
        self.state.outbox.extend(events)


class FakeDatabase:
    """Hands out FakeStores; a failing unit of work leaves the state as it was."""

    def __init__(self, budgets: Sequence[Budget]) -> None:
        self.budgets, self.state = list(budgets), State()

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
