"""Counting usage and the periodic sweep: plain functions of (events, dependencies)."""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from rex_shared.clock import Clock, utcnow
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.consumer import Received
from rex_shared.events import LlmCostRecorded

from budget.adapters import metrics
from budget.domain.alerts import Alert, alerts_for, forecast_alert
from budget.domain.forecast import ForecastPolicy
from budget.domain.model import Budget, Payer
from budget.domain.usage import Charge, Cost, charges
from budget.events import alert_events, period_closed_event
from budget.ports import PeriodKey, Spent, SweepUnitOfWork, UnitOfWork, UsageStore


async def handle_cost_recorded(
    batch: Sequence[Received[LlmCostRecorded]],
    *,
    unit_of_work: UnitOfWork,
    now: Clock = utcnow,
    new_id: Callable[[], UUID] = uuid4,
    forecast: ForecastPolicy = ForecastPolicy(),
) -> None:
    """Count new costs (adjustments too, negative or not) against every budget they fall
    under; fire crossed thresholds and forecasts; shrink holds; close ended periods."""
    async with unit_of_work() as store:
        fresh = await _claim_new(store, batch)
        costs = [_cost(e) for e in fresh if e.status == "priced"]  # unpriced: nothing to count
        budgets = await store.budgets_covering([c.payer for c in costs]) if costs else []
        counted = charges(costs, budgets)
        # Period rows are locked here, in (budget, period start) order, until commit.
        totals = await store.add_usage(counted)
        events = await _alerts(store, counted, totals, now(), new_id, forecast)
        closures = await store.close_before(_cutoffs(counted))
        # Last: shrinking holds moves the budgets' hold totals, the last lock every
        # transaction takes (no period row is locked after it).
        await store.shrink_holds(_spent(fresh))
        await store.enqueue(events + [period_closed_event(c) for c in closures])


async def _claim_new(
    store: UsageStore, batch: Sequence[Received[LlmCostRecorded]]
) -> list[LlmCostRecorded]:
    fresh = await store.claim([r.event_id for r in batch])
    seen: set[str] = set()
    events = []
    for r in batch:  # a duplicate inside one batch counts once too
        if r.event_id in fresh and r.event_id not in seen:
            seen.add(r.event_id)
            events.append(r.event)
    return events


async def _alerts(
    store: UsageStore,
    counted: Sequence[Charge],
    totals: Mapping[PeriodKey, Decimal],
    at: datetime,
    new_id: Callable[[], UUID],
    policy: ForecastPolicy,
) -> list[OutgoingEvent]:
    # Re-read under the period row locks: a budget edit that committed before we got them is
    # seen here, and one that commits after re-evaluates with our usage included
    # (handlers/budgets.py).
    latest = await store.budgets_now(sorted({c.budget.id for c in counted}))
    events: list[OutgoingEvent] = []
    for charge in counted:
        budget = latest.get(charge.budget.id)
        if budget is None or budget.archived_at is not None:
            continue
        # Monitoring only, observed inside the transaction: a rolled-back batch may be seen
        # early; the money itself lives in the database.
        metrics.utilization(budget, totals[(budget.id, charge.period.start)])
        for alert in _raised(budget, charge, totals, at, new_id, policy):
            if await store.record_alert(alert):  # False: it had fired in this period already
                metrics.alert_fired(alert)
                events += alert_events(alert)
    return events


def _raised(
    budget: Budget,
    charge: Charge,
    totals: Mapping[PeriodKey, Decimal],
    at: datetime,
    new_id: Callable[[], UUID],
    policy: ForecastPolicy,
) -> list[Alert]:
    total = totals[(budget.id, charge.period.start)]
    found = alerts_for(
        budget, charge.period, added=charge.amount, new_usage=total, crossed_at=at, new_id=new_id
    )
    predicted = forecast_alert(
        budget, charge.period, usage=total, now=at, policy=policy, new_id=new_id
    )
    return found + ([predicted] if predicted else [])


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


def _spent(events: Sequence[LlmCostRecorded]) -> list[Spent]:
    return [
        (e.org_id, e.evaluation_id, e.cost.total)
        for e in events
        if e.evaluation_id is not None and e.status == "priced"
    ]


def _cutoffs(counted: Sequence[Charge]) -> dict[UUID, datetime]:
    # The first event of a new period closes the periods before it (lazily; the sweep closes
    # the periods of budgets that went quiet).
    cutoffs: dict[UUID, datetime] = {}
    for c in counted:
        cutoffs[c.budget.id] = max(cutoffs.get(c.budget.id, c.period.start), c.period.start)
    return cutoffs


async def sweep(
    *,
    unit_of_work: SweepUnitOfWork,
    now: Clock = utcnow,
    grace: timedelta = timedelta(seconds=60),
) -> tuple[int, int]:
    """Close periods that ended `grace` ago and expire overdue holds; (closed, expired)."""
    at = now()
    async with unit_of_work() as store:
        closures = await store.close_ended(at - grace)
        await store.enqueue([period_closed_event(c) for c in closures])
        expired = await store.expire_reservations(at)
    return len(closures), len(expired)
