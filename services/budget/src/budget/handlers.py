"""Handlers: plain functions of (events, dependencies); no FastStream, FastAPI or asyncpg."""

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID, uuid4

from rex_shared import cloudevents
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.consumer import Received
from rex_shared.events import BudgetThresholdCrossed, LlmCostRecorded

from budget.domain.model import Budget, Payer
from budget.domain.usage import Alert, Charge, Cost, alerts_for, charges

SOURCE = "rex/budget"
Clock = Callable[[], datetime]


class UsageStore(Protocol):
    """What counting usage needs from storage, all inside one transaction."""

    async def claim(self, event_id: str) -> bool: ...
    async def budgets_covering(self, payers: Sequence[Payer]) -> list[Budget]: ...
    async def add_usage(self, charge: Charge) -> Decimal: ...
    async def record_alert(self, alert: Alert) -> bool: ...
    async def enqueue(self, events: list[OutgoingEvent]) -> None: ...


UnitOfWork = Callable[[], AbstractAsyncContextManager[UsageStore]]


def utcnow() -> datetime:
    """The current UTC time (the default clock)."""
    return datetime.now(UTC)


async def handle_cost_recorded(
    batch: Sequence[Received[LlmCostRecorded]],
    *,
    unit_of_work: UnitOfWork,
    now: Clock = utcnow,
    new_id: Callable[[], UUID] = uuid4,
) -> None:
    """Count new priced costs against every budget they fall under; fire crossed thresholds."""
    async with unit_of_work() as store:
        fresh = await _claim_new(store, batch)
        costs = [_cost(e) for e in fresh if e.status == "priced"]  # unpriced: nothing to count
        if not costs:
            return
        budgets = await store.budgets_covering([c.payer for c in costs])
        crossed_at = now()
        for charge in charges(costs, budgets):
            # The upsert returns the new total under the row lock, so old = new - amount is
            # exact even while other instances add to the same period.
            new_usage = await store.add_usage(charge)
            for alert in alerts_for(charge, new_usage, crossed_at=crossed_at, new_id=new_id):
                if await store.record_alert(alert):  # False: another batch already fired it
                    await store.enqueue([threshold_crossed_event(alert)])


async def _claim_new(
    store: UsageStore, batch: Sequence[Received[LlmCostRecorded]]
) -> list[LlmCostRecorded]:
    # Claimed in id order so that instances handed overlapping batches lock inbox rows alike.
    ordered = sorted(batch, key=lambda r: r.event_id)
    return [r.event for r in ordered if await store.claim(r.event_id)]


def _cost(event: LlmCostRecorded) -> Cost:
    payer = Payer(
        org_id=event.org_id,
        project_id=event.project_id,
        user_id=event.user_id,
        provider=event.provider,
        model=event.model,
        metric=event.metric,
    )
    return Cost(payer=payer, amount=event.cost.total, occurred_at=event.occurred_at)


def threshold_crossed_event(alert: Alert) -> OutgoingEvent:
    """The `budget.threshold.crossed` CloudEvent of an alert (its id is the alert id)."""
    budget = alert.budget
    data = BudgetThresholdCrossed(
        alert_id=alert.id,
        budget_id=budget.id,
        budget_name=budget.name,
        budget_type=budget.type,
        entity_id=budget.entity_id,
        org_id=budget.org_id,
        period_start=alert.period.start,
        period_end=alert.period.end,
        threshold=alert.threshold,
        kind=alert.kind,
        severity=alert.severity,
        usage_amount=alert.usage_amount,
        limit_amount=budget.limit_amount,
        usage_percent=alert.usage_percent,
        is_hard_limit=budget.is_hard_limit,
        crossed_at=alert.crossed_at,
    )
    return cloudevents.build(
        data, source=SOURCE, event_id=str(alert.id), key=budget.org_id, time=alert.crossed_at
    )
